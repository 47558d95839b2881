# Third-party libraries, all from Debian 12 packages (tools/scripts/install-deps.sh installs them).
# The libraries themselves need only the first block; the rest is looked for only when the part
# that uses it is built (none of it when Cairn is a subproject: see the options in the root).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
find_package(FlatBuffers REQUIRED CONFIG)
find_program(FLATC flatc REQUIRED)
find_package(nlohmann_json REQUIRED CONFIG)
# Named time zones for cron triggers (Howard Hinnant's date library, reading the system tzdata).
find_package(date REQUIRED CONFIG)

if(CAIRN_BUILD_TOOLS OR CAIRN_BUILD_EXAMPLES OR CAIRN_BUILD_BENCH)
  find_package(CLI11 REQUIRED CONFIG)
endif()
if(CAIRN_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(CAIRN_BUILD_BENCH)
  find_package(benchmark REQUIRED CONFIG)
  find_package(RocksDB CONFIG)
  find_package(SQLite3)
endif()
