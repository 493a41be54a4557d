//! `laurel achievement`, `laurel rule`, `laurel pathway`, `laurel progress` and `laurel
//! registry-entry`: the badge program catalog, and the issuer as registries list it, from the
//! command line, through the same service calls as HTTP (the running
//! server when there is one).

use super::*;
use crate::service::{achievement_short_id, AwardRecipient, AwardRequest, PathwayRequest, RuleRequest};

#[derive(Subcommand, Debug)]
pub enum AchievementCommand {
    /// Add an achievement: from an OB 3.0 Achievement in a JSON or TOML file, or from flags.
    Add {
        /// JSON or TOML file with the Achievement (without id).
        #[arg(long, conflicts_with_all = ["name"])]
        file: Option<PathBuf>,
        #[arg(long, required_unless_present = "file")]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// The criteria narrative.
        #[arg(long)]
        criteria: Option<String>,
        /// Badge, Certificate, Certification, ...
        #[arg(long = "type")]
        achievement_type: Option<String>,
    },
    /// The catalog.
    List,
    Show {
        id: String,
    },
    /// Stop new awards; what was issued stays valid.
    Retire {
        id: String,
    },
    /// Award it to a learner.
    Award {
        id: String,
        #[arg(long, required_unless_present = "did")]
        email: Option<String>,
        #[arg(long)]
        did: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// The same key never issues twice.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RuleCommand {
    /// Add a rule ("assessment_passed" with `score >= 80` awards ACHIEVEMENT), or every
    /// `[[rule]]` of a TOML file (keys: event, condition, award).
    Add {
        #[arg(long, conflicts_with_all = ["event"])]
        file: Option<PathBuf>,
        #[arg(long, required_unless_present = "file")]
        event: Option<String>,
        #[arg(long, default_value = "true")]
        condition: String,
        #[arg(long, required_unless_present = "file")]
        award: Option<String>,
    },
    List,
    Delete {
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PathwayCommand {
    /// ACHIEVEMENT is earned with all (or --count) of the required achievements.
    Add {
        #[arg(long)]
        achievement: String,
        #[arg(long, value_delimiter = ',', required = true)]
        requires: Vec<String>,
        #[arg(long)]
        count: Option<usize>,
        /// Only gate awarding ACHIEVEMENT (a level with its own assessment): not issued automatically.
        #[arg(long)]
        manual: bool,
        /// With --manual: hold an early award until the prerequisites arrive instead of refusing it.
        #[arg(long, requires = "manual")]
        queue: bool,
    },
    List,
}

/// One catalog operation, run locally or on the server.
enum Call {
    AddAchievement(Value),
    ListAchievements,
    ShowAchievement(String),
    RetireAchievement(String),
    Award(String, AwardRequest, Option<String>),
    AddRule(RuleRequest),
    ListRules,
    DeleteRule(String),
    AddPathway(PathwayRequest),
    ListPathways,
    Progress(String),
    RegistryEntry,
}

impl Backend {
    async fn program(&self, call: Call) -> Result<Value, CliError> {
        use reqwest::Method;
        let seg = percent_encode_segment;
        match self {
            Backend::Local(service) => Ok(match call {
                Call::AddAchievement(body) => service.create_achievement(&body)?,
                Call::ListAchievements => json!(service.list_achievements()?),
                Call::ShowAchievement(id) => service.achievement(&id)?,
                Call::RetireAchievement(id) => service.retire_achievement(&id)?,
                Call::Award(id, request, key) => match service.award(&id, request, key.as_deref()).await? {
                    crate::service::AwardOutcome::Issued(record, _) => {
                        json!({"id": record.id, "verifiableCredential": record.credential})
                    }
                    crate::service::AwardOutcome::Deferred { credential_id, learner } => {
                        json!({"id": credential_id, "deferred": true, "detail": format!("held until {learner} earns the prerequisites")})
                    }
                },
                Call::AddRule(rule) => service.create_rule(&rule)?,
                Call::ListRules => json!(service.list_rules()?),
                Call::DeleteRule(id) => {
                    service.delete_rule(&id)?;
                    json!({"deleted": id})
                }
                Call::AddPathway(pathway) => service.create_pathway(&pathway)?,
                Call::ListPathways => json!(service.list_pathways()?),
                Call::Progress(learner) => service.progress(&learner)?,
                Call::RegistryEntry => service.registry_entry()?,
            }),
            Backend::Remote(remote) => match call {
                Call::AddAchievement(body) => remote.call(Method::POST, "/achievements", Some(&body)).await,
                Call::ListAchievements => remote.call(Method::GET, "/achievements", None).await,
                Call::ShowAchievement(id) => {
                    remote
                        .call(Method::GET, &format!("/achievements/{}", seg(achievement_short_id(&id))), None)
                        .await
                }
                Call::RetireAchievement(id) => {
                    remote
                        .call(
                            Method::POST,
                            &format!("/achievements/{}/retire", seg(achievement_short_id(&id))),
                            None,
                        )
                        .await
                }
                Call::Award(id, request, key) => {
                    let body = serde_json::to_value(&request).unwrap_or_default();
                    let path = format!("/achievements/{}/awards", seg(achievement_short_id(&id)));
                    remote
                        .call_with_header(
                            Method::POST,
                            &path,
                            &body,
                            key.as_deref().map(|k| ("idempotency-key", k)),
                        )
                        .await
                }
                Call::AddRule(rule) => remote.call(Method::POST, "/rules", Some(&json!(rule))).await,
                Call::ListRules => remote.call(Method::GET, "/rules", None).await,
                Call::DeleteRule(id) => {
                    remote.call(Method::DELETE, &format!("/rules/{}", seg(&id)), None).await?;
                    Ok(json!({"deleted": id}))
                }
                Call::AddPathway(pathway) => {
                    remote.call(Method::POST, "/pathways", Some(&json!(pathway))).await
                }
                Call::ListPathways => remote.call(Method::GET, "/pathways", None).await,
                Call::Progress(learner) => {
                    remote.call(Method::GET, &format!("/learners/{}/progress", seg(&learner)), None).await
                }
                Call::RegistryEntry => remote.call(Method::GET, "/registry-entry", None).await,
            },
        }
    }
}

/// A JSON or TOML file as JSON.
fn read_document(file: &Path) -> Result<Value, CliError> {
    let text = String::from_utf8(read_input(&file.to_string_lossy(), 1 << 20)?)
        .map_err(|_| CliError::Input(format!("{}: not UTF-8", file.display())))?;
    // JSON if it parses as JSON (a TOML file may also start with '[', as `[[rule]]` does).
    if let Ok(value) = serde_json::from_str(&text) {
        return Ok(value);
    }
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", file.display())));
    }
    let value: toml::Value =
        toml::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
    serde_json::to_value(value).map_err(|e| CliError::Input(format!("{}: {e}", file.display())))
}

fn print(value: &Value) -> Result<i32, CliError> {
    out!("{}", serde_json::to_string_pretty(value).unwrap_or_default())?;
    Ok(0)
}

pub(super) async fn run_achievement(
    data: &Path,
    server: Option<&str>,
    command: AchievementCommand,
) -> Result<i32, CliError> {
    let backend = Backend::open(data, server).await?;
    let call = match command {
        AchievementCommand::Add { file: Some(file), .. } => Call::AddAchievement(read_document(&file)?),
        AchievementCommand::Add { file: None, name, description, criteria, achievement_type } => {
            let name = name.unwrap_or_default();
            let mut body = json!({
                "type": ["Achievement"],
                "name": name,
                "description": description.unwrap_or_else(|| name.clone()),
                "criteria": {"narrative": criteria.unwrap_or_else(|| format!("Earn {name}."))},
            });
            if let Some(kind) = achievement_type {
                body["achievementType"] = json!(kind);
            }
            Call::AddAchievement(body)
        }
        AchievementCommand::List => Call::ListAchievements,
        AchievementCommand::Show { id } => Call::ShowAchievement(id),
        AchievementCommand::Retire { id } => Call::RetireAchievement(id),
        AchievementCommand::Award { id, email, did, name, idempotency_key } => {
            let recipient = AwardRecipient { email, did, url: None, name };
            Call::Award(id, AwardRequest { recipient, ..AwardRequest::default() }, idempotency_key)
        }
    };
    print(&backend.program(call).await?)
}

pub(super) async fn run_rule(
    data: &Path,
    server: Option<&str>,
    command: RuleCommand,
) -> Result<i32, CliError> {
    let backend = Backend::open(data, server).await?;
    match command {
        RuleCommand::Add { file: Some(file), .. } => {
            let document = read_document(&file)?;
            let rules = document.get("rule").and_then(Value::as_array).cloned().ok_or_else(|| {
                CliError::Input(format!(
                    "{}: expected [[rule]] entries (event, condition, award)",
                    file.display()
                ))
            })?;
            let mut added = Vec::new();
            for (i, rule) in rules.into_iter().enumerate() {
                let rule: RuleRequest = serde_json::from_value(rule)
                    .map_err(|e| CliError::Input(format!("{}: rule {}: {e}", file.display(), i + 1)))?;
                added.push(backend.program(Call::AddRule(rule)).await?);
            }
            print(&json!(added))
        }
        RuleCommand::Add { file: None, event, condition, award } => {
            let rule =
                RuleRequest { event: event.unwrap_or_default(), condition, award: award.unwrap_or_default() };
            print(&backend.program(Call::AddRule(rule)).await?)
        }
        RuleCommand::List => print(&backend.program(Call::ListRules).await?),
        RuleCommand::Delete { id } => print(&backend.program(Call::DeleteRule(id)).await?),
    }
}

pub(super) async fn run_pathway(
    data: &Path,
    server: Option<&str>,
    command: PathwayCommand,
) -> Result<i32, CliError> {
    let backend = Backend::open(data, server).await?;
    let call = match command {
        PathwayCommand::Add { achievement, requires, count, manual, queue } => {
            Call::AddPathway(PathwayRequest { achievement, requires, count, automatic: !manual, queue })
        }
        PathwayCommand::List => Call::ListPathways,
    };
    print(&backend.program(call).await?)
}

pub(super) async fn run_progress(data: &Path, server: Option<&str>, learner: &str) -> Result<i32, CliError> {
    let backend = Backend::open(data, server).await?;
    print(&backend.program(Call::Progress(learner.to_string())).await?)
}

pub(super) async fn run_registry_entry(data: &Path, server: Option<&str>) -> Result<i32, CliError> {
    let backend = Backend::open(data, server).await?;
    print(&backend.program(Call::RegistryEntry).await?)
}
