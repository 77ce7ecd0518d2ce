# gen_wilayah.cmake -- turns schema/data/bekasi_wilayah.csv into msg_wilayah_codes.inc: the
# kelurahan codes as C string literals, sorted, for msg_wilayah.c to include.
#
# Run by msg/CMakeLists.txt at build time (add_custom_command, DEPENDS on the CSV), as
#   cmake -DCSV=<path to bekasi_wilayah.csv> -DOUT=<path of the .inc> -P gen_wilayah.cmake
# The codes come from the data file only (the suffixes have gaps: never generate them). The CSV
# must read `code,name,level`; rows of level `kelurahan` must have a code NN.NN.NN.NNNN. Anything
# else stops the build with the file and line.
cmake_minimum_required(VERSION 3.13)   # script mode: IN_LIST and friends
if(NOT DEFINED CSV OR NOT DEFINED OUT)
    message(FATAL_ERROR "gen_wilayah.cmake: usage: cmake -DCSV=file.csv -DOUT=file.inc -P ...")
endif()

file(STRINGS "${CSV}" lines ENCODING UTF-8)
list(LENGTH lines nlines)
if(nlines EQUAL 0)
    message(FATAL_ERROR "${CSV}: empty")
endif()

set(codes "")
set(lineno 0)
foreach(line IN LISTS lines)
    math(EXPR lineno "${lineno} + 1")
    string(REGEX REPLACE "\r$" "" line "${line}")
    if(lineno EQUAL 1)
        if(NOT line STREQUAL "code,name,level")
            message(FATAL_ERROR "${CSV}:1: header is '${line}', expected 'code,name,level'")
        endif()
        continue()
    endif()
    if(line STREQUAL "")
        continue()
    endif()
    if(NOT line MATCHES "^([^,]*),(.*),([^,]*)$")
        message(FATAL_ERROR "${CSV}:${lineno}: not 'code,name,level': ${line}")
    endif()
    set(code "${CMAKE_MATCH_1}")
    set(level "${CMAKE_MATCH_3}")
    if(NOT level STREQUAL "kelurahan")
        continue()
    endif()
    if(NOT code MATCHES "^[0-9][0-9]\\.[0-9][0-9]\\.[0-9][0-9]\\.[0-9][0-9][0-9][0-9]$")
        message(FATAL_ERROR "${CSV}:${lineno}: kelurahan code '${code}' is not NN.NN.NN.NNNN")
    endif()
    if(code IN_LIST codes)
        message(FATAL_ERROR "${CSV}:${lineno}: kelurahan code '${code}' appears twice")
    endif()
    list(APPEND codes "${code}")
endforeach()

list(LENGTH codes ncodes)
if(ncodes EQUAL 0)
    message(FATAL_ERROR "${CSV}: no row of level kelurahan")
endif()
list(SORT codes)   # byte order, as strcmp() and bsearch() in msg_wilayah.c expect

set(text "/* Generated from ${CSV} by msg/gen_wilayah.cmake: do not edit. */\n")
foreach(code IN LISTS codes)
    string(APPEND text "\"${code}\",\n")
endforeach()
file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
