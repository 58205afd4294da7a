# tests/abi/targets.cmake - the public headers compile on their own, as C and C++.
#
# check-headers.sh runs the compilers directly (-fsyntax-only) rather than through
# targets, because the project enables only the C language and the point is to
# compile each header in a unit of its own.  The C++ compilers are optional on a
# build machine; whichever of g++ and clang++ exists is used.
if(BUILD_TESTING)
  set(abi_header_compilers "${CMAKE_C_COMPILER}")
  find_program(PCIVIRT_ABI_GXX NAMES g++)
  find_program(PCIVIRT_ABI_CLANGXX NAMES clang++)
  foreach(cxx PCIVIRT_ABI_GXX PCIVIRT_ABI_CLANGXX)
    if(${cxx})
      list(APPEND abi_header_compilers "${${cxx}}")
    endif()
  endforeach()
  add_test(NAME abi_headers_standalone
    COMMAND "${CMAKE_CURRENT_LIST_DIR}/check-headers.sh" "${CMAKE_SOURCE_DIR}" ${abi_header_compilers})
  set_tests_properties(abi_headers_standalone PROPERTIES TIMEOUT 120 LABELS abi)
endif()
