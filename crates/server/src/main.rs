//! The `cromulent` binary: see `cromulent --help`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    cromulent::cli::main()
}
