# The command tests run the built binary and, for conform, the deliberately broken driver modules of tests/pf.
if(TARGET cli_test_run)
  add_dependencies(cli_test_run pcivirt_cli)
endif()
if(TARGET cli_test_conform)
  add_dependencies(cli_test_conform pcivirt_cli pf_broken_accept_block_129 pf_broken_notify_twice pcivirt_pf)
endif()
