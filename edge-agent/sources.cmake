# sources.cmake -- agent_sources: the edge agent's field sources (flood, camera, frigate, larva),
# the source table, the pure helpers they share, and `pantau-agent report`; their unit tests and
# the test driver the integration tests run (tests/integration/agent_source_driver.c).
#
# Included by edge-agent/CMakeLists.txt after store.cmake (agent_store, when it exists).
# Files are listed only when they exist, so the tree configures while parts are written.

# agent_sources_core: the sources and their pure helpers (what the unit tests link);
# agent_sources: the table of sources (with the store part's simulator) and `report`, which
# need agent_store.
set(AGENT_SOURCES_CORE_FILES
    badlog.c
    cmdline.c
    emitq.c
    linebuf.c
    sensor_line.c
    sockserver.c
    source_flood.c
)
foreach(f traffic_agg.c camera_line.c source_camera.c larva_input.c source_larva.c
          frigate_event.c source_frigate.c)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${f})
        list(APPEND AGENT_SOURCES_CORE_FILES ${f})
    endif()
endforeach()
add_library(agent_sources_core STATIC ${AGENT_SOURCES_CORE_FILES})
target_include_directories(agent_sources_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(agent_sources_core PUBLIC pantau_msg PkgConfig::libmosquitto
                      Threads::Threads m)

set(AGENT_SOURCES_WITH_STORE OFF)
if(TARGET agent_store AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/agent_store.c)
    set(AGENT_SOURCES_WITH_STORE ON)
endif()
set(AGENT_SOURCES_FILES agent_sources.c)
if(AGENT_SOURCES_WITH_STORE AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/agent_report.c)
    list(APPEND AGENT_SOURCES_FILES agent_report.c)
endif()
add_library(agent_sources STATIC ${AGENT_SOURCES_FILES})
target_link_libraries(agent_sources PUBLIC agent_sources_core)
if(AGENT_SOURCES_WITH_STORE)
    target_link_libraries(agent_sources PUBLIC agent_store)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/source_simulator.c)
        target_compile_definitions(agent_sources PRIVATE AGENT_HAVE_SIMULATOR=1)
    endif()
endif()
if(DEFINED PANTAU_VERSION)
    target_compile_definitions(agent_sources PRIVATE PANTAU_VERSION="${PANTAU_VERSION}")
endif()

if(BUILD_TESTING)
    # unit tests of the pure parts: tests/unit/test_agent_<module>.c of this part
    foreach(name test_agent_sensor_line test_agent_cmdline test_agent_linebuf test_agent_emitq
                 test_agent_traffic_agg test_agent_camera_line test_agent_frigate_event
                 test_agent_larva_input test_agent_report test_agent_sources
                 test_agent_sockserver)
        if(EXISTS ${PROJECT_SOURCE_DIR}/tests/unit/${name}.c)
            if(name STREQUAL "test_agent_report" AND NOT AGENT_SOURCES_WITH_STORE)
                continue()
            endif()
            add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/unit/${name}.c)
            if(name STREQUAL "test_agent_report" OR name STREQUAL "test_agent_sources")
                target_link_libraries(${name} PRIVATE agent_sources)
            else()
                target_link_libraries(${name} PRIVATE agent_sources_core)
            endif()
            add_test(NAME ${name} COMMAND ${name})
            set_tests_properties(${name} PROPERTIES LABELS unit)
        endif()
    endforeach()

    # the integration tests' driver: runs sources from a config with a collecting emit
    if(EXISTS ${PROJECT_SOURCE_DIR}/tests/integration/agent_source_driver.c)
        add_executable(agent-source-driver
                       ${PROJECT_SOURCE_DIR}/tests/integration/agent_source_driver.c)
        target_link_libraries(agent-source-driver PRIVATE agent_sources)
        if(AGENT_SOURCES_WITH_STORE)
            target_compile_definitions(agent-source-driver PRIVATE AGENT_DRIVER_HAVE_STORE=1)
        endif()
    endif()
endif()
