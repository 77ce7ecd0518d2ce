# PantauUnitTest.cmake -- pantau_unit_test(): the one way a unit test is registered.
#
#   pantau_unit_test(test_foo [SOURCES file.c...] [INCLUDES dir...] [LIBS target...]
#                    [DEFINITIONS def...])
#
# Builds tests/unit/test_foo.c (plus SOURCES: module files the test compiles itself, with the
# folders of their headers in INCLUDES; both relative to the top of the tree or absolute) into
# the program test_foo, links LIBS and registers it with
# CTest: label `unit`, a timeout (PANTAU_UNIT_TIMEOUT), the working directory tests/unit in the
# build tree and PANTAU_SOURCE_DIR in the environment. Every test includes tests/unit/tinytest.h
# (the include path is set here) and compiles with _GNU_SOURCE, as the programs' modules do.
# The compiler flags of the tree apply as to every target: -Werror and the rest of the warnings,
# and with PANTAU_SANITIZE=ON -fsanitize=address,undefined (set once in the top CMakeLists.txt).
#
# pantau_unit_test_check_all() ends tests/unit/CMakeLists.txt: a tests/unit/test_*.c that no call
# registered is a configure error, so a test cannot drop out of the run unnoticed.
set(PANTAU_UNIT_TIMEOUT 300 CACHE STRING "Seconds a unit test may run (sanitizer tree included)")
set(PANTAU_UNIT_DIR ${PROJECT_SOURCE_DIR}/tests/unit)

function(pantau_unit_test name)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;INCLUDES;LIBS;DEFINITIONS")
    if(arg_UNPARSED_ARGUMENTS OR arg_KEYWORDS_MISSING_VALUES)
        message(FATAL_ERROR "pantau_unit_test(${name}): unexpected arguments "
                            "'${arg_UNPARSED_ARGUMENTS}${arg_KEYWORDS_MISSING_VALUES}'")
    endif()
    if(NOT EXISTS ${PANTAU_UNIT_DIR}/${name}.c)
        message(FATAL_ERROR "pantau_unit_test(${name}): ${PANTAU_UNIT_DIR}/${name}.c is missing")
    endif()
    set(sources ${PANTAU_UNIT_DIR}/${name}.c)
    foreach(src ${arg_SOURCES})
        cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY ${PROJECT_SOURCE_DIR})
        list(APPEND sources ${src})
    endforeach()
    set(includes ${PANTAU_UNIT_DIR})
    foreach(dir ${arg_INCLUDES})
        cmake_path(ABSOLUTE_PATH dir BASE_DIRECTORY ${PROJECT_SOURCE_DIR})
        list(APPEND includes ${dir})
    endforeach()

    add_executable(${name} ${sources})
    target_compile_definitions(${name} PRIVATE _GNU_SOURCE ${arg_DEFINITIONS})
    target_include_directories(${name} PRIVATE ${includes})
    target_link_libraries(${name} PRIVATE ${arg_LIBS})
    add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(${name} PROPERTIES
        LABELS unit
        TIMEOUT ${PANTAU_UNIT_TIMEOUT}
        ENVIRONMENT "PANTAU_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
    set_property(GLOBAL APPEND PROPERTY PANTAU_UNIT_TESTS ${name})
endfunction()

function(pantau_unit_test_check_all)
    get_property(registered GLOBAL PROPERTY PANTAU_UNIT_TESTS)
    file(GLOB files CONFIGURE_DEPENDS RELATIVE ${PANTAU_UNIT_DIR} ${PANTAU_UNIT_DIR}/test_*.c)
    set(missing "")
    foreach(file ${files})
        string(REGEX REPLACE "\\.c$" "" name ${file})
        if(NOT name IN_LIST registered)
            list(APPEND missing ${file})
        endif()
    endforeach()
    if(missing)
        message(FATAL_ERROR "tests/unit: not registered with pantau_unit_test(): ${missing} "
                            "(add a call in tests/unit/CMakeLists.txt)")
    endif()
endfunction()
