fn main() -> std::process::ExitCode {
    flywheel::cli::main()
}
