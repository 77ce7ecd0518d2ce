# store.cmake -- agent_store: the edge agent's durable SQLite store and its clock helper
# (store/: agent_store.c, agent_clock.c), with the `simulator` source
# (sources/simulator/source_simulator.c, which uses the clock); the crash-test writer and the
# store's benchmark (the unit tests are registered in tests/unit/CMakeLists.txt).
#
# Included by edge-agent/CMakeLists.txt before sources.cmake, which links agent_sources to
# agent_store (and so gets agent_source_simulator from here).

add_library(agent_store STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/store/agent_store.c
    ${CMAKE_CURRENT_SOURCE_DIR}/store/agent_clock.c
    ${CMAKE_CURRENT_SOURCE_DIR}/sources/simulator/source_simulator.c
)
# store/ for the store and the clock; sources/common for the simulator's agent_source.h
target_include_directories(agent_store PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/store
                           ${CMAKE_CURRENT_SOURCE_DIR}/sources/common)
target_link_libraries(agent_store PUBLIC pantau_msg PkgConfig::sqlite3 Threads::Threads m)

if(BUILD_TESTING)
    # The writer that tests/integration/test_agent_store_crash.py kills (not a test itself).
    add_executable(agent_store_torture ${PROJECT_SOURCE_DIR}/tests/unit/agent_store_torture.c)
    target_link_libraries(agent_store_torture PRIVATE agent_store)
endif()

# Benchmark (prints figures; docs/benchmarks.md, "Edge agent: the store").
add_executable(bench_agent_store ${PROJECT_SOURCE_DIR}/tests/bench/agent/bench_agent_store.c)
target_link_libraries(bench_agent_store PRIVATE agent_store)
