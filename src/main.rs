//! The `charter` binary: sets up logs and traces, hands the command line to the library.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = charter::cli::Cli::parse();
    // Logs and traces are set up before the runtime starts: the trace exporter's HTTP client
    // runs on a thread of its own. A configuration that does not load leaves text logs, and the
    // command says what is wrong with it.
    let settings = charter::config::Settings::resolve(&cli.data, None).ok();
    let telemetry = charter::telemetry::init(settings.as_ref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(charter::cli::run(cli));
    drop(runtime);
    telemetry.shutdown();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
