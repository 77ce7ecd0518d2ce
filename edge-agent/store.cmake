# store.cmake -- agent_store: the edge agent's durable SQLite store (agent_store.c), its clock
# helper (agent_clock.c) and the `simulator` source (source_simulator.c, which uses the clock);
# their unit tests, the crash-test writer and the store's benchmark.
#
# Included by edge-agent/CMakeLists.txt before sources.cmake, which links agent_sources to
# agent_store (and so gets agent_source_simulator from here). Files are listed only when they
# exist, so the tree configures while this part is being written.

set(AGENT_STORE_FILES)
foreach(f agent_store.c agent_clock.c source_simulator.c)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${f})
        list(APPEND AGENT_STORE_FILES ${CMAKE_CURRENT_SOURCE_DIR}/${f})
    endif()
endforeach()

add_library(agent_store STATIC ${AGENT_STORE_FILES})
target_include_directories(agent_store PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(agent_store PUBLIC pantau_msg PkgConfig::sqlite3 Threads::Threads m)

if(BUILD_TESTING)
    foreach(name test_agent_store test_agent_clock test_agent_simulator)
        if(EXISTS ${PROJECT_SOURCE_DIR}/tests/unit/${name}.c)
            add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/unit/${name}.c)
            target_link_libraries(${name} PRIVATE agent_store)
            add_test(NAME ${name} COMMAND ${name}
                     WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
            set_tests_properties(${name} PROPERTIES LABELS unit)
        endif()
    endforeach()

    # The writer that tests/integration/test_agent_store_crash.py kills (not a test itself).
    if(EXISTS ${PROJECT_SOURCE_DIR}/tests/unit/agent_store_torture.c)
        add_executable(agent_store_torture ${PROJECT_SOURCE_DIR}/tests/unit/agent_store_torture.c)
        target_link_libraries(agent_store_torture PRIVATE agent_store)
    endif()
endif()

# Benchmark (prints figures; docs/benchmarks.md, "Edge agent: the store").
if(EXISTS ${PROJECT_SOURCE_DIR}/tests/bench/agent/bench_agent_store.c)
    add_executable(bench_agent_store ${PROJECT_SOURCE_DIR}/tests/bench/agent/bench_agent_store.c)
    target_link_libraries(bench_agent_store PRIVATE agent_store)
endif()
