// The smallest Cairn program: one function with two durable steps, one event, one run.
//
//   ./build/release/examples/hello_world [DATA_DIR]
//
// Run it twice: the second start replays the log, where run 1 is already completed (it does not
// run again), and the event it sends starts run 2.
#include <cstdio>
#include <string>

#include "cairn/engine.h"

cairn::Task<std::string> greet(cairn::Context& ctx, const cairn::Event& event) {
  // Each step runs once; its value is in the log before the function sees it.
  std::string name = co_await ctx.run("look-up-name", [&] {
    return std::string(event.data.find("ada") != std::string::npos ? "Ada" : "world");
  });
  co_return co_await ctx.run("compose", [&] { return "Hello, " + name + "!"; });
}

int main(int argc, char** argv) {
  auto engine = cairn::Engine::create({.dir = argc > 1 ? argv[1] : "cairn-data/hello"});
  cairn::Status st = engine->register_function(
      {.id = "greet", .triggers = {cairn::on_event("user/signed-up")}}, greet);
  if (st.ok()) st = engine->start();
  if (!st.ok()) {
    std::fprintf(stderr, "hello_world: %s\n", st.to_string().c_str());
    return 1;
  }
  auto sent = engine->send({.name = "user/signed-up", .data = R"({"user":"ada"})"});
  if (!sent.ok()) {
    std::fprintf(stderr, "hello_world: %s\n", sent.status().to_string().c_str());
    return 1;
  }
  auto run = engine->wait_run(sent->runs.at(0));
  if (!run.ok()) {
    std::fprintf(stderr, "hello_world: %s\n", run.status().to_string().c_str());
    return 1;
  }
  std::printf("run %llu %s: %s\n", static_cast<unsigned long long>(run->id),
              std::string(cairn::run_status_name(run->status)).c_str(), run->output.c_str());
  return engine->shutdown().ok() ? 0 : 1;
}
