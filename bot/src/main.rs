//! The `flywheel` binary: everything lives in the library; [`flywheel::cli`] is where it starts.

fn main() -> std::process::ExitCode {
    flywheel::cli::main()
}
