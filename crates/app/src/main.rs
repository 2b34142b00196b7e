//! `needlepoint`: the one binary. Serves the web app and API, runs the demo
//! clinic, and the operator's tools.

mod generate;
mod plan;
mod screen;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use needlepoint_domain::{ClinicDetails, Email, Password, Role};
use needlepoint_store::{Actor, NewStaff, Store};
use needlepoint_web::{AppState, WebConfig};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "needlepoint",
    version,
    about = "Practice software for microneedling clinics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and JSON API.
    Serve(ServeArgs),
    /// Serve a fresh demo clinic (two clinics, staff, ~50 patients) and print its logins.
    Demo(DemoArgs),
    /// Create or update the database schema, then exit.
    Migrate(DbArgs),
    /// Manage staff accounts from the shell.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write a consistent copy of the SQLite database while it is in use.
    Backup(BackupArgs),
    /// The audit trail: `audit verify` checks its hash chain end to end.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Screen a patient history (JSON; format in the README) and print the outcome per area.
    Screen(ScreenArgs),
    /// Propose a treatment course for a patient history (JSON) from its concerns and screening.
    Plan(PlanArgs),
    /// Fill an empty database with a generated chain of clinics, for benchmarks.
    Generate(GenerateArgs),
}

#[derive(Args)]
struct GenerateArgs {
    #[arg(long, default_value_t = 50)]
    clinics: u32,
    #[arg(long, default_value_t = 1_000_000)]
    patients: u64,
    #[arg(long, default_value_t = 5_000_000)]
    sessions: u64,
    /// The same seed makes the same data.
    #[arg(long, default_value_t = 6)]
    seed: u64,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args)]
struct PlanArgs {
    /// The patient history as JSON (with concerns).
    file: PathBuf,
    /// The date to plan on (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<jiff::civil::Date>,
    /// The device: skinpen, exceed or medical_roller.
    #[arg(long, default_value = "skinpen")]
    device: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    kb: KnowledgeArgs,
}

#[derive(Args, Clone)]
struct KnowledgeArgs {
    /// A knowledge-base file to use instead of the one built in.
    #[arg(long, env = "NEEDLEPOINT_KNOWLEDGE", value_name = "FILE")]
    knowledge: Option<PathBuf>,
}

impl KnowledgeArgs {
    /// The knowledge base, or one line naming the file, line and field.
    fn load(&self) -> anyhow::Result<needlepoint_domain::knowledge::KnowledgeBase> {
        Ok(match &self.knowledge {
            Some(path) => needlepoint_knowledge::load(path)?,
            None => needlepoint_knowledge::shipped()?,
        })
    }
}

#[derive(Args)]
struct ScreenArgs {
    /// The patient history as JSON.
    file: PathBuf,
    /// The date to screen on (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<jiff::civil::Date>,
    /// Areas to screen, comma-separated (default: the areas of the history's concerns).
    #[arg(long, value_delimiter = ',', value_name = "AREA,…")]
    areas: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    kb: KnowledgeArgs,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Folder for the embedded SQLite database (used when no database URL is given).
    #[arg(long, default_value = "./needlepoint-data", value_name = "DIR")]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user:pass@host/db); without it, SQLite in --data-dir.
    #[arg(
        long,
        env = "NEEDLEPOINT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    kb: KnowledgeArgs,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// Mark cookies Secure: use when served over HTTPS (behind a reverse proxy).
    #[arg(long)]
    secure_cookies: bool,
    #[command(flatten)]
    delivery: DeliveryArgs,
    #[command(flatten)]
    payments: PaymentArgs,
}

/// Online payment through Stripe Checkout; without both keys, patients
/// are not offered it. Point Stripe's webhook at https://YOUR-SITE/webhooks/stripe
/// for the events checkout.session.completed and
/// checkout.session.async_payment_succeeded.
#[derive(Args)]
struct PaymentArgs {
    /// Stripe's secret API key (sk_live_… or sk_test_…).
    #[arg(
        long,
        env = "NEEDLEPOINT_STRIPE_SECRET_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    stripe_secret_key: Option<String>,
    /// The signing secret of the webhook endpoint (whsec_…).
    #[arg(
        long,
        env = "NEEDLEPOINT_STRIPE_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    stripe_webhook_secret: Option<String>,
    /// Stripe's API address (change only to test against a local server).
    #[arg(
        long,
        env = "NEEDLEPOINT_STRIPE_API",
        value_name = "URL",
        default_value = "https://api.stripe.com"
    )]
    stripe_api: String,
}

impl PaymentArgs {
    fn provider(&self) -> anyhow::Result<Option<needlepoint_web::Payments>> {
        match (&self.stripe_secret_key, &self.stripe_webhook_secret) {
            (None, None) => Ok(None),
            (Some(key), Some(secret)) => Ok(Some(needlepoint_web::Payments(std::sync::Arc::new(
                needlepoint_practice::payments::Stripe::new(&self.stripe_api, key, secret),
            )))),
            _ => anyhow::bail!(
                "online payment needs both --stripe-secret-key and --stripe-webhook-secret"
            ),
        }
    }
}

/// How messages to patients leave; without these they go to DATA_DIR/mailbox.
#[derive(Args)]
struct DeliveryArgs {
    /// Send e-mail through this SMTP relay: smtp://[user:password@]host[:port] (plain SMTP).
    #[arg(long, env = "NEEDLEPOINT_SMTP", value_name = "URL")]
    smtp: Option<String>,
    /// The From address of e-mails (with --smtp).
    #[arg(
        long,
        env = "NEEDLEPOINT_MAIL_FROM",
        value_name = "ADDRESS",
        default_value = ""
    )]
    mail_from: String,
    /// Send SMS by running this program with the number as argument and the text on stdin.
    #[arg(long, env = "NEEDLEPOINT_SMS_COMMAND", value_name = "PROGRAM")]
    sms_command: Option<PathBuf>,
}

#[derive(Args)]
struct DemoArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// Folder for the demo's SQLite database; must be empty or new (default: a new temporary folder).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Put the demo in this (empty) PostgreSQL database instead of SQLite.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Create the demo data and exit without serving.
    #[arg(long)]
    no_serve: bool,
    #[command(flatten)]
    kb: KnowledgeArgs,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the whole audit trail: exits 0 when intact, 1 naming the first
    /// row inserted, changed or deleted behind Needlepoint's back.
    Verify(DbArgs),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff account. The password is read from standard input
    /// (first line), or from NEEDLEPOINT_PASSWORD.
    Add(UserAddArgs),
    /// Remove a staff member's authenticator and recovery codes (a lost
    /// phone, and no owner left who can sign in to reset it). They are
    /// signed out and set up a new one at their next sign-in. Audited.
    ResetTwoFactor(UserResetArgs),
}

#[derive(Args)]
struct UserResetArgs {
    #[command(flatten)]
    db: DbArgs,
    #[arg(long)]
    email: String,
}

#[derive(Args)]
struct UserAddArgs {
    #[command(flatten)]
    db: DbArgs,
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// owner, clinician or front_desk
    #[arg(long)]
    role: String,
    /// Clinic id the person works at (repeatable); default: every clinic.
    #[arg(long = "clinic", value_name = "ID")]
    clinics: Vec<i64>,
    /// On a new install (no owner yet): the organisation's name.
    #[arg(long)]
    organisation: Option<String>,
    /// On a new install: the first clinic's name.
    #[arg(long = "clinic-name")]
    clinic_name: Option<String>,
    /// On a new install: the first clinic's IANA time zone.
    #[arg(long = "time-zone")]
    time_zone: Option<String>,
}

#[derive(Args)]
struct BackupArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The file to write; it must not exist yet.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("needlepoint: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line, never a panic or a backtrace.
            eprintln!("needlepoint: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(command: &Command) {
    use tracing_subscriber::EnvFilter;
    // A bulk load's statements are long by design: not worth a warning each.
    let default = match command {
        Command::Generate(_) => "info,sqlx=error,tower_http=warn",
        _ => "info,sqlx=warn,tower_http=warn",
    };
    let filter =
        EnvFilter::try_from_env("NEEDLEPOINT_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

async fn open(db: &DbArgs) -> anyhow::Result<Arc<dyn Store>> {
    let what = match &db.database_url {
        Some(url) => format!("PostgreSQL at {}", needlepoint_store::open::redact(url)),
        None => format!("SQLite in {}", db.data_dir.display()),
    };
    needlepoint_store::open(db.database_url.as_deref(), &db.data_dir)
        .await
        .with_context(|| format!("cannot open the database ({what})"))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(a) => {
            let kb = a.kb.load()?;
            let store = open(&a.db).await?;
            let config = WebConfig {
                secure_cookies: a.secure_cookies,
                data_dir: a.db.data_dir.clone(),
                payments: a.payments.provider()?,
            };
            let state = AppState::new(store, kb, config);
            start_outbox(&state, &a.db.data_dir, &a.delivery)?;
            serve(state, a.listen, None).await
        }
        Command::Plan(a) => {
            let kb = a.kb.load()?;
            let on = a.date.unwrap_or_else(|| jiff::Zoned::now().date());
            print!("{}", plan::run(&kb, &a.file, on, &a.device, a.json)?);
            Ok(())
        }
        Command::Screen(a) => {
            let kb = a.kb.load()?;
            let on = a.date.unwrap_or_else(|| jiff::Zoned::now().date());
            print!("{}", screen::run(&kb, &a.file, on, &a.areas, a.json)?);
            Ok(())
        }
        Command::Demo(a) => demo_command(a).await,
        Command::Migrate(db) => {
            let store = open(&db).await?;
            println!("Database is up to date ({}).", store.backend().name());
            Ok(())
        }
        Command::User {
            command: UserCommand::Add(a),
        } => user_add(a).await,
        Command::User {
            command: UserCommand::ResetTwoFactor(a),
        } => {
            let store = open(&a.db).await?;
            let Some(c) = store.staff_credentials(&a.email).await? else {
                bail!("--email {}: no such staff member", a.email);
            };
            store
                .disable_two_factor(c.staff.id, &Actor::cli(), needlepoint_store::now())
                .await?;
            println!(
                "Two-factor sign-in reset for {}: they set up a new authenticator at their next sign-in.",
                c.staff.email
            );
            Ok(())
        }
        Command::Generate(a) => {
            if a.clinics == 0 || a.patients == 0 || a.sessions < a.patients {
                bail!("give at least one clinic, one patient, and a session per patient");
            }
            let store = open(&a.db).await?;
            let scale = needlepoint_store::generate::Scale {
                clinics: a.clinics,
                patients: a.patients,
                sessions: a.sessions,
                seed: a.seed,
                until: needlepoint_store::now(),
            };
            generate::run(store.as_ref(), scale).await
        }
        Command::Audit {
            command: AuditCommand::Verify(db),
        } => {
            let store = open(&db).await?;
            let v = store.verify_audit().await?;
            match v.broken {
                None => {
                    println!(
                        "The audit trail is intact: {} rows, each linked to the one before.",
                        v.rows
                    );
                    Ok(())
                }
                Some((row, why)) => {
                    eprintln!("THE AUDIT TRAIL IS BROKEN at row {row}: {why}.");
                    std::process::exit(1);
                }
            }
        }
        Command::Backup(a) => {
            let store = open(&a.db).await?;
            store
                .backup_to(&a.to)
                .await
                .with_context(|| format!("backup to {} failed", a.to.display()))?;
            println!("Backup written to {}", a.to.display());
            Ok(())
        }
    }
}

/// The outbox worker: e-mail over SMTP and SMS through a program when
/// configured; otherwise into a mailbox folder in the data folder (read
/// there or on the Messages page), so the demo works offline.
fn start_outbox(
    state: &AppState,
    data_dir: &std::path::Path,
    d: &DeliveryArgs,
) -> anyhow::Result<()> {
    use needlepoint_practice::delivery::{ByChannel, SmsCommand, Smtp};
    use needlepoint_practice::messages::{MailboxFolder, Sender};
    let mailbox = data_dir.join("mailbox");
    let email: Box<dyn Sender> = match &d.smtp {
        Some(url) => {
            let smtp =
                Smtp::parse(url, &d.mail_from).map_err(|e| anyhow::anyhow!("--smtp: {e}"))?;
            tracing::info!(host = %smtp.host, port = smtp.port, "e-mail goes through SMTP");
            Box::new(smtp)
        }
        None => {
            tracing::info!(folder = %mailbox.display(), "e-mail goes to the local mailbox folder");
            Box::new(MailboxFolder(mailbox.clone()))
        }
    };
    let sms: Box<dyn Sender> = match &d.sms_command {
        Some(program) => {
            tracing::info!(program = %program.display(), "SMS goes through the provider's program");
            Box::new(SmsCommand(program.clone()))
        }
        None => Box::new(MailboxFolder(mailbox)),
    };
    needlepoint_practice::messages::spawn_worker(
        state.cx.clone(),
        Arc::new(ByChannel { email, sms }),
        std::time::Duration::from_secs(5),
    );
    Ok(())
}

async fn serve(state: AppState, listen: SocketAddr, banner: Option<String>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = state.store.backend().name(), knowledge = %state.kb.version, "serving Needlepoint");
    if let Some(b) = banner {
        println!("{}", b.replace("{url}", &format!("http://{addr}")));
    } else {
        println!("Needlepoint is running at http://{addr}");
    }
    needlepoint_web::serve(listener, state).await?;
    Ok(())
}

async fn demo_command(a: DemoArgs) -> anyhow::Result<()> {
    let kb = a.kb.load()?;
    let dir = a.data_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("needlepoint-demo-{}", std::process::id()))
    });
    let store = match &a.database_url {
        Some(url) => needlepoint_store::open_postgres(url)
            .await
            .with_context(|| {
                format!(
                    "cannot open PostgreSQL at {}",
                    needlepoint_store::open::redact(url)
                )
            })?,
        None => {
            if dir.join("needlepoint.sqlite3").exists() {
                bail!(
                    "{} already holds a database; the demo needs a new folder",
                    dir.display()
                );
            }
            let s = needlepoint_store::open(None, &dir).await?;
            println!(
                "Demo database: {}",
                dir.join("needlepoint.sqlite3").display()
            );
            s
        }
    };
    if store.owner_exists().await? {
        bail!("this database already has an organisation; the demo needs an empty one");
    }
    // The links in the demo's mailbox open this server (a wildcard
    // address is opened as localhost).
    let site = if a.listen.ip().is_unspecified() {
        format!("http://localhost:{}", a.listen.port())
    } else {
        format!("http://{}", a.listen)
    };
    let logins =
        needlepoint_demo::seed(store.clone(), &kb, &dir, &site, needlepoint_store::now()).await?;
    let mut banner = String::from("\nNeedlepoint demo clinic is running at {url}\n\nSign in as:\n");
    for (role, email) in &logins {
        banner.push_str(&format!(
            "  {role:<28} {email:<34} password: {}\n",
            needlepoint_demo::PASSWORD
        ));
    }
    banner.push_str(
        "\nOwners always sign in with a code from an authenticator app: the owner sets\n\
         one up (any TOTP app) at the first sign-in.\n\nStop with Ctrl-C.",
    );
    if a.no_serve {
        println!("{}", banner.replace("{url}", "(not serving: --no-serve)"));
        return Ok(());
    }
    let config = WebConfig {
        data_dir: dir.clone(),
        ..WebConfig::default()
    };
    let state = AppState::new(store, kb, config);
    let offline = DeliveryArgs {
        smtp: None,
        mail_from: String::new(),
        sms_command: None,
    };
    start_outbox(&state, &dir, &offline)?;
    serve(state, a.listen, Some(banner)).await
}

async fn user_add(a: UserAddArgs) -> anyhow::Result<()> {
    let role = Role::parse(&a.role).map_err(|e| anyhow::anyhow!("--role: {}", e.message))?;
    let email =
        Email::parse("email", &a.email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
    let name = needlepoint_domain::validation::required_line("name", &a.name, 120)
        .map_err(|e| anyhow::anyhow!("--name: {}", e.message))?;
    let password = match std::env::var("NEEDLEPOINT_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the password from standard input")?;
            s.lines().next().unwrap_or("").to_string()
        }
    };
    let password = Password::parse("password", &password)
        .map_err(|e| anyhow::anyhow!("password: {}", e.message))?;
    let store = open(&a.db).await?;
    let hash = needlepoint_practice::signin::hash_password(password.expose().to_string()).await?;
    let now = needlepoint_store::now();
    let actor = Actor::cli();
    let Some(org) = store.organisation().await? else {
        // A new install: this creates the organisation and its first owner.
        let (Some(org), Some(clinic), Some(tz)) = (&a.organisation, &a.clinic_name, &a.time_zone)
        else {
            bail!(
                "no organisation yet: open /setup in the browser, or add the first owner with \
                 --role owner --organisation NAME --clinic-name NAME --time-zone ZONE"
            );
        };
        if role != Role::Owner {
            bail!("the first account must be an owner (--role owner)");
        }
        let clinic =
            ClinicDetails::parse(clinic, tz, "", "").map_err(|e| anyhow::anyhow!("{e}"))?;
        let owner = NewStaff {
            organisation_id: 0,
            email: email.to_string(),
            name,
            role,
            password_hash: hash,
            practitioner: None,
            clinic_ids: vec![],
        };
        let (_, clinic, staff) = store.setup(org, &clinic, &owner, &actor, now).await?;
        println!(
            "Created {org} with clinic {} (id {}) and owner {} (id {}).",
            clinic.details.name, clinic.id, staff.email, staff.id
        );
        return Ok(());
    };
    let all: Vec<i64> = {
        let mut ids = vec![];
        for s in store.list_staff(org.id).await? {
            if s.role == Role::Owner {
                ids = store.staff_clinic_ids(s.id).await?;
                break;
            }
        }
        ids
    };
    let clinic_ids = if a.clinics.is_empty() {
        all.clone()
    } else {
        a.clinics.clone()
    };
    if let Some(bad) = clinic_ids.iter().find(|c| !all.contains(c)) {
        bail!("--clinic {bad}: no such clinic in {}", org.name);
    }
    let new = NewStaff {
        organisation_id: org.id,
        email: email.to_string(),
        name,
        role,
        password_hash: hash,
        practitioner: None,
        clinic_ids,
    };
    let staff = store.create_staff(&new, &actor, now).await?;
    println!(
        "Created {} ({}) with id {}.",
        staff.email,
        staff.role.label(),
        staff.id
    );
    Ok(())
}
