# agent.cmake -- pantau-agent itself: the engine (agent.c and the agent_*.c files behind its
# private agent_int.h: ring, intake, send, conn), its config (agent_config.c), the
# window/backoff arithmetic (agent_window.c) and main.c; and the footprint benchmark helper.
# Their unit tests are registered in tests/unit/CMakeLists.txt.
#
# Included by edge-agent/CMakeLists.txt after store.cmake (agent_store: the store and the clock)
# and sources.cmake (agent_sources: the source table, `report`). agent_core (config + window)
# is what `pantau-agent report` needs to read the config, so agent_sources is linked to it
# here (agent_core in turn needs agent_source_find and the clock: CMake resolves the cycle
# between the static libraries).

# Debian's paho CMake config lists OpenSSL::SSL in the link interface of its
# eclipse-paho-mqtt-c::paho-mqtt3as target without finding OpenSSL, which fails the generate
# step: link the library file and OpenSSL (pkg-config targets) directly instead.
find_library(PANTAU_PAHO_MQTT3AS NAMES paho-mqtt3as REQUIRED)

add_library(agent_core STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_config.c
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_window.c
)
target_include_directories(agent_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(agent_core PUBLIC pantau_msg m agent_store agent_sources)
target_link_libraries(agent_sources PUBLIC agent_core)

add_executable(pantau-agent
    ${CMAKE_CURRENT_SOURCE_DIR}/main.c
    ${CMAKE_CURRENT_SOURCE_DIR}/agent.c
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_conn.c
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_intake.c
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_ring.c
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_send.c
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_notify.c
)
target_link_libraries(pantau-agent PRIVATE
    agent_core
    agent_sources
    agent_store
    pantau_msg
    ${PANTAU_PAHO_MQTT3AS}
    PkgConfig::libssl
    PkgConfig::libcrypto
    Threads::Threads
)
# No libsystemd: agent_notify.c speaks sd_notify's datagram itself (libsystemd would map
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
