/// jemalloc serves every allocation of the node, its own and its C libraries' (SQLite,
/// OpenSSL). With glibc's malloc the node's private memory crept up about 1.4 MiB a minute under
/// the benchmark's mix while the memory it held stayed level (freed memory kept by per-thread
/// arenas); with jemalloc it stayed level, and lookups were no slower (`git show dc52f25:README.md`, *Load benchmark*).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    siis::cli::main()
}
