#pragma once

namespace tollgate::cli {

// The whole command line: serve, check-config and the client verbs. Returns the exit status.
int run(int argc, char** argv);

}  // namespace tollgate::cli
