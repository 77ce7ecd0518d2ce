# agent.cmake -- pantau-agent itself: the engine (engine/: agent.c and the agent_*.c files
# behind its private agent_int.h: ring, intake, send, conn), its config (agent_config.c), the
# window arithmetic (agent_window.c; backoff and sd_notify come from msg/); the program's two
# commands, main.c and `pantau-agent report` (agent_report.c); and the footprint benchmark
# helper. Their unit tests are registered in tests/unit/CMakeLists.txt.
#
# Included by edge-agent/CMakeLists.txt after store.cmake (agent_store: the store and the clock)
# and sources.cmake (agent_sources: the source table). agent_core (config + window) is what the
# engine and `report` need to read the config; it links agent_sources, as the config checks its
# [source] sections with agent_source_find. The libraries depend one way: agent_report ->
# agent_core -> agent_sources -> agent_sources_core, agent_store (report used to sit in
# agent_sources, which then had to link agent_core back: a cycle).

# Debian's paho CMake config lists OpenSSL::SSL in the link interface of its
# eclipse-paho-mqtt-c::paho-mqtt3as target without finding OpenSSL, which fails the generate
# step: link the library file and OpenSSL (pkg-config targets) directly instead.
find_library(PANTAU_PAHO_MQTT3AS NAMES paho-mqtt3as REQUIRED)

add_library(agent_core STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/engine/agent_config.c
    ${CMAKE_CURRENT_SOURCE_DIR}/engine/agent_metrics.c
    ${CMAKE_CURRENT_SOURCE_DIR}/engine/agent_window.c
)
target_include_directories(agent_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/engine)
target_link_libraries(agent_core PUBLIC pantau_msg m agent_store agent_sources)

# `pantau-agent report`: one Jumantik inspection (the larva source's input format) appended to
# the store from the command line, beside the running agent.
add_library(agent_report STATIC ${CMAKE_CURRENT_SOURCE_DIR}/agent_report.c)
target_include_directories(agent_report PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(agent_report PUBLIC agent_core agent_sources_core agent_store)
if(DEFINED PANTAU_VERSION)
    target_compile_definitions(agent_report PRIVATE PANTAU_VERSION="${PANTAU_VERSION}")
endif()

add_executable(pantau-agent
    ${CMAKE_CURRENT_SOURCE_DIR}/main.c
    ${CMAKE_CURRENT_SOURCE_DIR}/engine/agent.c
    ${CMAKE_CURRENT_SOURCE_DIR}/engine/agent_conn.c
    ${CMAKE_CURRENT_SOURCE_DIR}/engine/agent_intake.c
    ${CMAKE_CURRENT_SOURCE_DIR}/engine/agent_ring.c
    ${CMAKE_CURRENT_SOURCE_DIR}/engine/agent_send.c
)
target_link_libraries(pantau-agent PRIVATE
    agent_report
    agent_core
    agent_sources
    agent_store
    pantau_msg
    ${PANTAU_PAHO_MQTT3AS}
    PkgConfig::libssl
    PkgConfig::libcrypto
    Threads::Threads
)
# No libsystemd: msg/msg_notify.c speaks sd_notify's datagram itself (libsystemd would map
# libgcrypt, liblzma, libzstd, liblz4 and libcap into the agent for one sendto).
if(DEFINED PANTAU_VERSION)
    target_compile_definitions(pantau-agent PRIVATE PANTAU_VERSION="${PANTAU_VERSION}")
endif()
install(TARGETS pantau-agent RUNTIME DESTINATION bin)

# Footprint benchmark helper (docs/benchmarks.md, "Edge agent: footprint"): a bare paho
# MQTTAsync client that only connects, as the reference for resident memory.
add_executable(bench_paho_idle ${PROJECT_SOURCE_DIR}/tests/bench/agent/bench_paho_idle.c)
target_link_libraries(bench_paho_idle PRIVATE ${PANTAU_PAHO_MQTT3AS} PkgConfig::libssl
                      PkgConfig::libcrypto Threads::Threads)
