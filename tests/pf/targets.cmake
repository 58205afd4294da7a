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
