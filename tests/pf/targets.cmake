# Deliberately broken PF drivers (one contract violation each), built as modules
# next to the tests, and the dependency of the test that loads them.
set(PCIVIRT_PF_FAULTS notify_twice keep_query_stop_on_detach accept_block_129 lose_event_short_buffer
  proxy_luid_differs v2_when_v1_asked no_invalidate_coalesce leak_held_request user_mode_attach)
foreach(fault ${PCIVIRT_PF_FAULTS})
  pcivirt_pf_module(pf_broken_${fault} "${CMAKE_BINARY_DIR}/tests/pf" "${CMAKE_SOURCE_DIR}/tests/pf/broken_driver.c")
  target_compile_definitions(pf_broken_${fault} PRIVATE PF_BROKEN_FAULT=${fault})
  if(TARGET pf_test_conform_broken)
    add_dependencies(pf_test_conform_broken pf_broken_${fault})
  endif()
endforeach()
if(TARGET pf_test_conform_reference)
  add_dependencies(pf_test_conform_reference pcivirt_pf)
endif()

# A second, independently written PF driver (tests/pf/mini_pf.c: public headers only,
# no src/pf code), correct and with one documentation-born mistake per variant;
# test_conform_mini.c shows the suite catches each in code it did not grow up with.
set(PCIVIRT_MINI_PF_VARIANTS "none=0" "example_large=1" "sal_bound=2" "example_notify=3")
foreach(variant ${PCIVIRT_MINI_PF_VARIANTS})
  string(REPLACE "=" ";" parts "${variant}")
  list(GET parts 0 vname)
  list(GET parts 1 vbug)
  add_library(pf_mini_${vname} MODULE "${CMAKE_SOURCE_DIR}/tests/pf/mini_pf.c"
    "${CMAKE_SOURCE_DIR}/src/util/alloc.c" "${CMAKE_SOURCE_DIR}/src/util/nt.c")
  set_target_properties(pf_mini_${vname} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests/pf")
  target_include_directories(pf_mini_${vname} PRIVATE "${CMAKE_SOURCE_DIR}/include" "${CMAKE_SOURCE_DIR}/src")
  target_compile_definitions(pf_mini_${vname} PRIVATE MINI_PF_BUG=${vbug})
  target_link_options(pf_mini_${vname} PRIVATE -Wl,-Bsymbolic)
  target_link_libraries(pf_mini_${vname} PRIVATE Threads::Threads)
  if(TARGET pf_test_conform_mini)
    add_dependencies(pf_test_conform_mini pf_mini_${vname})
  endif()
endforeach()
