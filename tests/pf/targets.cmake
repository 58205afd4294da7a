# The broken PF drivers the conformance suite must reject.  They are variants of
# a second, independently written PF driver (tests/pf/mini_pf.c, mini_pf_io.c:
# public headers only, no src/pf code), one mistake each, chosen by MINI_PF_BUG
# (tests/pf/mini_pf.h); the correct variant is "none".  test_conform_mini.c covers
# the documentation-born mistakes, test_conform_broken.c the defects the suite's
# self-test names, and `pcivirt conform --driver` loads them in tests/cli.
set(PCIVIRT_MINI_PF_VARIANTS "none=0" "example_large=1" "sal_bound=2" "example_notify=3" "notify_all=4"
  "detach_keeps=5" "block_129=6" "proxy_luid=7" "v2_claim=8" "no_coalesce=9" "leak_held=10" "user_attach=11")
foreach(variant ${PCIVIRT_MINI_PF_VARIANTS})
  string(REPLACE "=" ";" parts "${variant}")
  list(GET parts 0 vname)
  list(GET parts 1 vbug)
  add_library(pf_mini_${vname} MODULE "${CMAKE_SOURCE_DIR}/tests/pf/mini_pf.c" "${CMAKE_SOURCE_DIR}/tests/pf/mini_pf_io.c"
    "${CMAKE_SOURCE_DIR}/src/util/alloc.c" "${CMAKE_SOURCE_DIR}/src/util/nt.c")
  set_target_properties(pf_mini_${vname} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/pf")
  target_include_directories(pf_mini_${vname} PRIVATE "${CMAKE_SOURCE_DIR}/include" "${CMAKE_SOURCE_DIR}/src")
  target_compile_definitions(pf_mini_${vname} PRIVATE MINI_PF_BUG=${vbug})
  target_link_options(pf_mini_${vname} PRIVATE -Wl,-Bsymbolic)
  target_link_libraries(pf_mini_${vname} PRIVATE Threads::Threads)
  foreach(t pf_test_conform_mini pf_test_conform_broken)
    if(TARGET ${t})
      add_dependencies(${t} pf_mini_${vname})
    endif()
  endforeach()
endforeach()
if(TARGET pf_test_conform_reference)
  add_dependencies(pf_test_conform_reference pcivirt_pf)
endif()
