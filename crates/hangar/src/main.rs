//! The `hangar` binary: parses arguments and calls the libraries.

mod cli;
mod client;

fn main() -> std::process::ExitCode {
    cli::main()
}
