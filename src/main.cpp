#include "tollgate/cli/cli.hpp"

int main(int argc, char** argv) { return tollgate::cli::run(argc, argv); }
