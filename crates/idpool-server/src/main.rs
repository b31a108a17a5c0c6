//! The `idpool` command: `idpool serve` runs the server (design.md "Settings").

use clap::{Parser, Subcommand};
use idpool_server::{Application, ServeArgs, Settings};

#[derive(Parser)]
#[command(
    name = "idpool",
    version,
    about = "A self-hostable Amazon Cognito Identity (identity pools) server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server. Every setting may also come from idpool.toml or an IDPOOL_* variable;
    /// flags win over variables, variables over the file.
    Serve(ServeArgs),
    /// Manage the key ring (OpenID signing keys and session sealing keys).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Start signing and sealing with new keys. Old keys keep verifying what they issued
    /// until it expires, and stay published in the JWKS until then.
    Rotate(ServeArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Serve(args) => args,
        Command::Keys(KeysCommand::Rotate(args)) => return rotate(&args),
    };
    let settings = match Settings::resolve(&args, &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("idpool: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("idpool: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let app = match Application::build(settings.clone()).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("idpool: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        for (name, id) in &app.declared_pools {
            tracing::info!(pool = %name, id = %id, "declared identity pool ready");
        }
        tracing::info!(address = %app.local_addr(), region = %settings.region, account = %settings.account_id, "idpool listening");
        match app.run_until(idpool_server::shutdown_signal()).await {
            Ok(()) => {
                tracing::info!("idpool stopped");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("idpool: {e}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}

fn init_logging(format: idpool_server::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDPOOL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        idpool_server::config::LogFormat::Json => builder.json().init(),
        idpool_server::config::LogFormat::Text => builder.init(),
    }
}

fn rotate(args: &ServeArgs) -> std::process::ExitCode {
    let result = Settings::resolve(args, &|k| std::env::var(k).ok()).and_then(|settings| {
        let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        rt.block_on(idpool_server::rotate_keys(&settings))
    });
    match result {
        Ok(kids) => {
            println!(
                "key ring rotated; OpenID keys now published: {}",
                kids.join(", ")
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("idpool: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
