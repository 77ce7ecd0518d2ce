# store.cmake -- agent_store: the edge agent's durable SQLite store (agent_store.c), its clock
# helper (agent_clock.c) and the `simulator` source (source_simulator.c, which uses the clock);
# the crash-test writer and the store's benchmark (the unit tests are registered in
# tests/unit/CMakeLists.txt).
#
# Included by edge-agent/CMakeLists.txt before sources.cmake, which links agent_sources to
# agent_store (and so gets agent_source_simulator from here).

add_library(agent_store STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_store.c
    ${CMAKE_CURRENT_SOURCE_DIR}/agent_clock.c
    ${CMAKE_CURRENT_SOURCE_DIR}/source_simulator.c
)
target_include_directories(agent_store PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(agent_store PUBLIC pantau_msg PkgConfig::sqlite3 Threads::Threads m)

if(BUILD_TESTING)
    # The writer that tests/integration/test_agent_store_crash.py kills (not a test itself).
    add_executable(agent_store_torture ${PROJECT_SOURCE_DIR}/tests/unit/agent_store_torture.c)
    target_link_libraries(agent_store_torture PRIVATE agent_store)
endif()

# Benchmark (prints figures; docs/benchmarks.md, "Edge agent: the store").
add_executable(bench_agent_store ${PROJECT_SOURCE_DIR}/tests/bench/agent/bench_agent_store.c)
target_link_libraries(bench_agent_store PRIVATE agent_store)
