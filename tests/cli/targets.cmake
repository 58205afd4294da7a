# The scenario parser lives in tools/ (it belongs to the pcivirt command), so the
# library that tests and fuzzers link does not contain it; build it into the
# targets that exercise it.  The command itself gets these files via its tools/*.c glob.
set(PCIVIRT_SCENARIO_SOURCES
  "${CMAKE_SOURCE_DIR}/tools/scenario.c"
  "${CMAKE_SOURCE_DIR}/tools/scenario_fields.c"
  "${CMAKE_SOURCE_DIR}/tools/scenario_flow.c"
  "${CMAKE_SOURCE_DIR}/tools/scenario_default.c"
  "${CMAKE_SOURCE_DIR}/tools/json_locate.c")
foreach(t cli_test_scenario fuzz_scenario)
  if(TARGET ${t})
    target_sources(${t} PRIVATE ${PCIVIRT_SCENARIO_SOURCES})
    target_include_directories(${t} PRIVATE "${CMAKE_SOURCE_DIR}/tools")
  endif()
endforeach()
if(TARGET cli_test_json_locate)
  target_sources(cli_test_json_locate PRIVATE "${CMAKE_SOURCE_DIR}/tools/json_locate.c")
  target_include_directories(cli_test_json_locate PRIVATE "${CMAKE_SOURCE_DIR}/tools")
endif()
