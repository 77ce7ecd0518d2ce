# sources.cmake -- agent_sources: the edge agent's field sources (flood, camera, frigate, larva),
# the source table, the pure helpers they share, and `pantau-agent report`; their unit tests and
# the test driver the integration tests run (tests/integration/agent_source_driver.c).
#
# Included by edge-agent/CMakeLists.txt after store.cmake (agent_store, when it exists).
# Files are listed only when they exist, so the tree configures while parts are written.

set(AGENT_SOURCES_FILES
    agent_sources.c
    badlog.c
    cmdline.c
    linebuf.c
    sensor_line.c
    source_flood.c
)
foreach(f traffic_agg.c camera_line.c source_camera.c larva_input.c source_larva.c
          frigate_event.c source_frigate.c agent_report.c)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${f})
        list(APPEND AGENT_SOURCES_FILES ${f})
    endif()
endforeach()

add_library(agent_sources STATIC ${AGENT_SOURCES_FILES})
target_include_directories(agent_sources PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(agent_sources PUBLIC pantau_msg PkgConfig::libmosquitto Threads::Threads m)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/source_simulator.c AND TARGET agent_store)
    target_compile_definitions(agent_sources PRIVATE AGENT_HAVE_SIMULATOR=1)
    target_link_libraries(agent_sources PUBLIC agent_store)
elseif(TARGET agent_store)
    target_link_libraries(agent_sources PUBLIC agent_store)
endif()
if(DEFINED PANTAU_VERSION)
    target_compile_definitions(agent_sources PRIVATE PANTAU_VERSION="${PANTAU_VERSION}")
endif()

if(BUILD_TESTING)
    # unit tests of the pure parts: tests/unit/test_agent_<module>.c of this part
    foreach(name test_agent_sensor_line test_agent_cmdline test_agent_linebuf
                 test_agent_traffic_agg test_agent_camera_line test_agent_frigate_event
                 test_agent_larva_input test_agent_report test_agent_sources)
        if(EXISTS ${PROJECT_SOURCE_DIR}/tests/unit/${name}.c)
            add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/unit/${name}.c)
            target_link_libraries(${name} PRIVATE agent_sources)
            add_test(NAME ${name} COMMAND ${name})
            set_tests_properties(${name} PROPERTIES LABELS unit)
        endif()
    endforeach()

    # the integration tests' driver: runs sources from a config with a collecting emit
    if(EXISTS ${PROJECT_SOURCE_DIR}/tests/integration/agent_source_driver.c)
        add_executable(agent-source-driver
                       ${PROJECT_SOURCE_DIR}/tests/integration/agent_source_driver.c)
        target_link_libraries(agent-source-driver PRIVATE agent_sources)
        if(TARGET agent_store AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/agent_store.c)
            target_compile_definitions(agent-source-driver PRIVATE AGENT_DRIVER_HAVE_STORE=1)
            target_link_libraries(agent-source-driver PRIVATE agent_store)
        endif()
    endif()
endif()
