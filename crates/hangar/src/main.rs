//! The `hangar` binary: parses arguments and calls the libraries.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
