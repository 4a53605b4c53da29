fn main() -> std::process::ExitCode {
    siis::cli::main()
}
