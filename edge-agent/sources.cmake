# sources.cmake -- agent_sources: the edge agent's field sources (flood, camera, frigate, larva),
# the source table, the pure helpers they share, and `pantau-agent report`; and the test driver
# the integration tests run (tests/integration/agent_source_driver.c). Their unit tests are
# registered in tests/unit/CMakeLists.txt.
#
# Included by edge-agent/CMakeLists.txt after store.cmake (agent_store).

# agent_sources_core: the sources and their pure helpers (what the unit tests link);
# agent_sources: the table of sources (with the store part's simulator) and `report`, which
# need agent_store.
add_library(agent_sources_core STATIC
    badlog.c
    camera_line.c
    cmdline.c
    emitq.c
    frigate_event.c
    larva_input.c
    linebuf.c
    sensor_line.c
    sockserver.c
    source_camera.c
    source_flood.c
    source_frigate.c
    source_larva.c
    traffic_agg.c
)
target_include_directories(agent_sources_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(agent_sources_core PUBLIC pantau_msg PkgConfig::libmosquitto
                      Threads::Threads m)

add_library(agent_sources STATIC agent_sources.c agent_report.c)
target_link_libraries(agent_sources PUBLIC agent_sources_core agent_store)
if(DEFINED PANTAU_VERSION)
    target_compile_definitions(agent_sources PRIVATE PANTAU_VERSION="${PANTAU_VERSION}")
endif()

if(BUILD_TESTING)
    # the integration tests' driver: runs sources from a config with a collecting emit
    add_executable(agent-source-driver
                   ${PROJECT_SOURCE_DIR}/tests/integration/agent_source_driver.c)
    target_link_libraries(agent-source-driver PRIVATE agent_sources)
endif()
