# sources.cmake -- agent_sources: the edge agent's field sources (sources/flood, sources/traffic:
# camera and frigate, sources/larva), the pure helpers they share (sources/common) and the
# source table; and the test driver the integration tests run
# (tests/integration/agent_source_driver.c). Their unit tests are registered in
# tests/unit/CMakeLists.txt.
#
# Included by edge-agent/CMakeLists.txt after store.cmake (agent_store).

set(agent_src ${CMAKE_CURRENT_SOURCE_DIR}/sources)

# agent_sources_core: the sources and their pure helpers (what the unit tests link);
# agent_sources: the table of sources (with the store part's simulator), which needs
# agent_store.
add_library(agent_sources_core STATIC
    ${agent_src}/common/badlog.c
    ${agent_src}/common/cmdline.c
    ${agent_src}/common/emitq.c
    ${agent_src}/common/linebuf.c
    ${agent_src}/common/sockserver.c
    ${agent_src}/flood/sensor_line.c
    ${agent_src}/flood/source_flood.c
    ${agent_src}/traffic/camera_line.c
    ${agent_src}/traffic/frigate_event.c
    ${agent_src}/traffic/source_camera.c
    ${agent_src}/traffic/source_frigate.c
    ${agent_src}/traffic/traffic_agg.c
    ${agent_src}/larva/larva_input.c
    ${agent_src}/larva/source_larva.c
)
target_include_directories(agent_sources_core PUBLIC
    ${agent_src}/common ${agent_src}/flood ${agent_src}/traffic ${agent_src}/larva)
target_link_libraries(agent_sources_core PUBLIC pantau_msg PkgConfig::libmosquitto
                      Threads::Threads m)

add_library(agent_sources STATIC ${agent_src}/common/agent_sources.c)
target_link_libraries(agent_sources PUBLIC agent_sources_core agent_store)

if(BUILD_TESTING)
    # the integration tests' driver: runs sources from a config with a collecting emit
    add_executable(agent-source-driver
                   ${PROJECT_SOURCE_DIR}/tests/integration/agent_source_driver.c)
    target_link_libraries(agent-source-driver PRIVATE agent_sources)
endif()
