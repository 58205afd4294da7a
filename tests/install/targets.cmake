# The install tree is usable on its own: headers, pkg-config file, library, command, driver.
if(BUILD_TESTING AND PCIVIRT_SANITIZE STREQUAL "")
  add_test(NAME install_consumer COMMAND "${CMAKE_SOURCE_DIR}/tests/install/test-install.sh"
    "${CMAKE_BINARY_DIR}" "${CMAKE_SOURCE_DIR}")
  set_tests_properties(install_consumer PROPERTIES TIMEOUT 120 LABELS install)
endif()
