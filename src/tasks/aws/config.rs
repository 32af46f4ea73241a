//! Where AWS calls go and who signs them, found the way the AWS SDKs and CLI find it: the
//! environment, then the shared config and credentials files, under a profile.
//!
//! Invariant: secrets are held in `Credentials`, whose `Debug` shows only the access key id,
//! and appear in no error or log line; a setting looked for and not found is named in the
//! error that says so.

use std::collections::HashMap;
use std::path::PathBuf;

/// Signing keys.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Where they were found (`environment`, `~/.aws/credentials [default]`).
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The settings of one profile, and the `services` section it points to.
#[derive(Debug, Default, Clone)]
struct Profile {
    settings: HashMap<String, String>,
    /// `services` section: service key (`dynamodb`) → its settings.
    services: HashMap<String, HashMap<String, String>>,
}

/// What the AWS calls of a process use.
#[derive(Debug, Clone)]
pub struct Config {
    pub region: String,
    /// `None` when no source had keys: calls fail saying where credentials were looked for.
    pub credentials: Option<Credentials>,
    profile_name: String,
    /// `AWS_ENDPOINT_URL` and each `AWS_ENDPOINT_URL_<SERVICE>`, by variable name.
    env_endpoints: HashMap<String, String>,
    profile: Profile,
    ignore_endpoints: bool,
}

/// The region when no setting names one, as the AWS CLI's examples assume.
pub const DEFAULT_REGION: &str = "us-east-1";

impl Config {
    /// Reads the process environment and the shared files it points to.
    pub fn from_env() -> Config {
        Config::load(std::env::vars().collect())
    }

    /// Reads the settings from `vars` (environment variables) and the files they name
    /// (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and
    /// `~/.aws/credentials`). An empty variable counts as unset.
    pub fn load(vars: HashMap<String, String>) -> Config {
        let env = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        let home = env("HOME").map(PathBuf::from);
        let file = |var: &str, name: &str| {
            env(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
        };
        let profile_name = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        let config_text = file("AWS_CONFIG_FILE", "config")
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let credentials_text = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let config_sections = ini(&config_text);
        let credential_sections = ini(&credentials_text);

        // In the config file a profile is `[profile NAME]` (`[default]` may be either).
        let mut profile = Profile::default();
        for key in [format!("profile {profile_name}"), profile_name.clone()] {
            if let Some(s) = config_sections.get(&key) {
                profile.settings = s.clone();
                break;
            }
        }
        if let Some(services) = profile.settings.get("services") {
            if let Some(section) = config_sections.get(&format!("services {services}")) {
                profile.services = sub_settings(section);
            }
        }

        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| profile.settings.get("region").cloned())
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());

        let credentials = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Some(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: env("AWS_SESSION_TOKEN"),
                source: "environment".to_owned(),
            }),
            _ => [
                (credential_sections.get(&profile_name), "credentials"),
                (Some(&profile.settings), "config"),
            ]
            .into_iter()
            .find_map(|(section, file)| {
                let s = section?;
                Some(Credentials {
                    access_key_id: s.get("aws_access_key_id")?.clone(),
                    secret_access_key: s.get("aws_secret_access_key")?.clone(),
                    session_token: s.get("aws_session_token").cloned(),
                    source: format!("the shared {file} file, profile {profile_name}"),
                })
            }),
        };

        let env_endpoints = vars
            .iter()
            .filter(|(k, v)| k.starts_with("AWS_ENDPOINT_URL") && !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let ignore_endpoints = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .or_else(|| {
                profile
                    .settings
                    .get("ignore_configured_endpoint_urls")
                    .cloned()
            })
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));

        Config {
            region,
            credentials,
            profile_name,
            env_endpoints,
            profile,
            ignore_endpoints,
        }
    }

    /// The configured endpoint of the service with SDK service id `service_id` (`DynamoDB`,
    /// `Secrets Manager`), in the SDKs' order: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`,
    /// the profile's `services` section, the profile's `endpoint_url`. `None`: AWS's own.
    pub fn endpoint(&self, service_id: &str) -> Option<String> {
        if self.ignore_endpoints {
            return None;
        }
        let var = service_id.replace([' ', '-'], "_").to_ascii_uppercase();
        let key = var.to_ascii_lowercase();
        self.env_endpoints
            .get(&format!("AWS_ENDPOINT_URL_{var}"))
            .or_else(|| self.env_endpoints.get("AWS_ENDPOINT_URL"))
            .cloned()
            .or_else(|| {
                self.profile
                    .services
                    .get(&key)
                    .and_then(|s| s.get("endpoint_url"))
                    .cloned()
            })
            .or_else(|| self.profile.settings.get("endpoint_url").cloned())
            .map(|u| u.trim_end_matches('/').to_owned())
    }

    /// Where credentials were looked for, for the error that says none were found.
    pub fn credential_sources(&self) -> String {
        format!(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
             aws_access_key_id and aws_secret_access_key for profile '{}' in the shared \
             credentials or config file (~/.aws/credentials, ~/.aws/config, or the files \
             AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE name)",
            self.profile_name
        )
    }
}

/// An INI file as the AWS CLI reads it: `[section]` headers, `key = value` lines, `#`/`;`
/// comments, and indented lines continuing the key before them as `sub_key = value` lines
/// (kept under that key, one per line).
fn ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    let mut last_key: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(name.clone()).or_default();
            current = Some(name);
            last_key = None;
            continue;
        }
        let Some(section) = current.as_ref().and_then(|c| sections.get_mut(c)) else {
            continue;
        };
        let indented = line.starts_with([' ', '\t']);
        match (indented, &last_key) {
            (true, Some(key)) => {
                let v = section.entry(key.clone()).or_default();
                v.push('\n');
                v.push_str(trimmed);
            }
            _ => {
                if let Some((k, v)) = trimmed.split_once('=') {
                    let k = k.trim().to_ascii_lowercase();
                    section.insert(k.clone(), v.trim().to_owned());
                    last_key = Some(k);
                }
            }
        }
    }
    sections
}

/// A `services` section: `dynamodb =` followed by indented `endpoint_url = ...` lines.
fn sub_settings(section: &HashMap<String, String>) -> HashMap<String, HashMap<String, String>> {
    section
        .iter()
        .map(|(service, body)| {
            let settings = body
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            (service.clone(), settings)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    }

    /// Environment first, then the profile's files; a profile's `services` section names a
    /// service's endpoint; the service-specific variable wins over the general one.
    #[test]
    fn settings_come_in_the_sdks_order() {
        let dir = std::env::temp_dir().join(format!("statejet-aws-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let config = write(
            &dir,
            "config",
            "[profile local]\nregion = eu-west-3\nendpoint_url = http://127.0.0.1:1\nservices = local-svcs\n\n[services local-svcs]\ndynamodb =\n  endpoint_url = http://127.0.0.1:2\n",
        );
        let creds = write(
            &dir,
            "credentials",
            "[local]\naws_access_key_id = AKID\naws_secret_access_key = SECRET\n",
        );
        let vars: HashMap<String, String> = [
            ("AWS_CONFIG_FILE", config),
            ("AWS_SHARED_CREDENTIALS_FILE", creds),
            ("AWS_PROFILE", "local".to_owned()),
            ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:3/".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let c = Config::load(vars);
        assert_eq!(c.region, "eu-west-3");
        let creds = c.credentials.clone().expect("credentials");
        assert_eq!(creds.access_key_id, "AKID");
        assert!(!format!("{creds:?}").contains("SECRET"));
        assert_eq!(
            c.endpoint("DynamoDB").as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(c.endpoint("SQS").as_deref(), Some("http://127.0.0.1:3"));
        assert_eq!(c.endpoint("SNS").as_deref(), Some("http://127.0.0.1:1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
