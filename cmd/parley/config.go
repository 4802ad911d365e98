package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/server"
	"github.com/parleyhq/parley/webhook"
)

// Configuration comes from four places; the first that sets a value wins:
// flags, PARLEY_* environment variables, the config file (-config or
// PARLEY_CONFIG), then the defaults. Every setting has all three names,
// derived from its file key: media.max_bytes is PARLEY_MEDIA_MAX_BYTES and
// -media-max-bytes.
//
// The file is TOML (.toml) or YAML (.yaml, .yml); any other name is read
// as lines of PARLEY_NAME=value, the format Parley started with. Unknown
// keys and invalid values stop the start with the key and the fix.

// settings is the effective configuration of a command.
type settings struct {
	Server    server.Config
	LogLevel  slog.Level
	LogFormat string // json or text
	// File is the config file read, or "".
	File string
	// Values lists every setting with its value and where it came from,
	// in the order of the settings table.
	Values []settingValue
}

// settingValue is one setting's effective value, as text.
type settingValue struct {
	Key    string `json:"key"`
	Env    string `json:"env"`
	Flag   string `json:"flag"`
	Value  string `json:"value"`
	Source string `json:"source"` // default, file NAME, env NAME or flag -NAME
	kind   valueKind
}

// valueKind is how a setting's text is written in a TOML file.
type valueKind int

const (
	kindString valueKind = iota
	kindNumber           // an integer or a float: written bare
	kindBool
	kindList // comma-separated in the environment, an array in a file
)

// setting is one entry of the table below.
type setting struct {
	key   string
	kind  valueKind
	def   string
	usage string
	// reload is set for the settings SIGHUP applies without a restart.
	reload bool
	// apply parses v into s. Its error says what is wrong and how to
	// write it; the caller adds where the value came from.
	apply func(s *settings, v string) error
}

func (st setting) env() string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(st.key, ".", "_"))
}

func (st setting) flagName() string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(st.key)
}

// settingTable lists every setting of parley serve.
var settingTable = []setting{
	{key: "listen", def: "127.0.0.1:8080", usage: "HTTP listen address",
		apply: func(s *settings, v string) error { s.Server.Listen = v; return checkAddr(v, false) }},
	{key: "data_dir", def: "./parley-data", usage: "data directory: database, media, admin socket",
		apply: func(s *settings, v string) error {
			if v == "" {
				return errors.New(`the data directory cannot be empty; write e.g. "/var/lib/parley"`)
			}
			s.Server.DataDir = v
			return nil
		}},
	{key: "database_url", usage: "database: empty for SQLite in the data dir, sqlite:PATH, or postgres://USER:PASSWORD@HOST/DB for PostgreSQL (several nodes)",
		apply: func(s *settings, v string) error { s.Server.DatabaseURL = v; return checkDatabaseURL(v) }},
	{key: "nats_url", usage: "NATS server(s) that carry notifications between nodes (nats://HOST:4222, comma-separated); empty: one node, in-process",
		apply: func(s *settings, v string) error { s.Server.NATSURL = v; return checkNATSURL(v) }},
	{key: "log_level", def: "info", reload: true, usage: "debug, info, warn or error; SIGHUP reloads it",
		apply: func(s *settings, v string) error {
			if err := s.LogLevel.UnmarshalText([]byte(v)); err != nil || !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(v)) {
				return fmt.Errorf("%q is not a log level; write debug, info, warn or error", v)
			}
			return nil
		}},
	{key: "log_format", def: "json", usage: "json or text",
		apply: func(s *settings, v string) error {
			if v != "json" && v != "text" {
				return fmt.Errorf("%q is not a log format; write json or text", v)
			}
			s.LogFormat = v
			return nil
		}},
	{key: "trust_proxy", kind: kindBool, def: "false", usage: "take client addresses from X-Forwarded-For",
		apply: func(s *settings, v string) error { return parseBool(v, &s.Server.TrustProxy) }},
	{key: "allowed_origins", kind: kindList, usage: "comma-separated browser origins, besides the server's own, allowed to open the stream",
		apply: func(s *settings, v string) error { s.Server.AllowedOrigins = splitList(v); return nil }},
	{key: "debug_listen", usage: "address for Go's profiler (/debug/pprof/); off when empty, keep it on loopback",
		apply: func(s *settings, v string) error { s.Server.DebugListen = v; return checkAddr(v, true) }},
	{key: "metrics_listen", usage: "where GET /metrics is served: empty for the main listener, host:port for its own listener, off for nowhere",
		apply: func(s *settings, v string) error {
			s.Server.MetricsListen = v
			if v == "off" {
				return nil
			}
			return checkAddr(v, true)
		}},
	{key: "public_url", usage: "the https:// (or http://) address users reach the server at; https turns HSTS on",
		apply: func(s *settings, v string) error {
			s.Server.PublicURL = v
			if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
				return fmt.Errorf("%q is not a URL; write e.g. https://chat.example.com", v)
			}
			return nil
		}},
	{key: "tls_cert", usage: "PEM certificate file (chain first): with tls_key, serve HTTPS directly",
		apply: func(s *settings, v string) error { s.Server.TLSCert = v; return nil }},
	{key: "tls_key", usage: "PEM private key file of tls_cert",
		apply: func(s *settings, v string) error { s.Server.TLSKey = v; return nil }},
	{key: "tls_redirect_listen", usage: "with TLS, an address (e.g. :80) answering plain HTTP with a redirect to HTTPS; off when empty",
		apply: func(s *settings, v string) error { s.Server.TLSRedirectListen = v; return checkAddr(v, true) }},
	{key: "encryption_key", usage: "master key, 32 bytes as 64 hex digits or base64 (openssl rand -hex 32): turns on encryption at rest of message bodies, media and TOTP secrets (AES-256-GCM); keep it outside the data directory and back it up",
		apply: func(s *settings, v string) error {
			key, err := parseKey(v)
			s.Server.App.EncryptionKey = key
			return err
		}},
	{key: "encryption_key_file", usage: "file holding the master key (instead of encryption_key), e.g. a mounted secret",
		apply: func(s *settings, v string) error {
			if v == "" {
				return nil
			}
			if s.Server.App.EncryptionKey != nil {
				return errors.New("encryption_key is set too; set one of encryption_key and encryption_key_file")
			}
			b, err := os.ReadFile(v)
			if err != nil {
				return fmt.Errorf("cannot read the key file: %v", err)
			}
			key, err := parseKey(strings.TrimSpace(string(b)))
			if err != nil {
				return fmt.Errorf("key file %s: %v", v, err)
			}
			s.Server.App.EncryptionKey = key
			return nil
		}},
	{key: "admins", kind: kindList, usage: "comma-separated handles of the server's administrators",
		apply: func(s *settings, v string) error { s.Server.App.Admins = splitList(v); return nil }},
	{key: "request_limit", kind: kindNumber, def: "3", usage: "messages allowed into a request before it is accepted",
		apply: func(s *settings, v string) error { return parseCount(v, "3", &s.Server.App.RequestLimit) }},
	{key: "edit_window", def: "15m", usage: "how long a message stays editable",
		apply: func(s *settings, v string) error { return parseDuration(v, "15m", &s.Server.App.EditWindow) }},
	{key: "max_group_members", kind: kindNumber, def: "1000", usage: "group size limit (invites count)",
		apply: func(s *settings, v string) error { return parseCount(v, "1000", &s.Server.App.MaxGroupMembers) }},
	{key: "large_group_members", kind: kindNumber, def: "256", usage: "group size above which the conversation list reaches a group through the group, not its member rows",
		apply: func(s *settings, v string) error { return parseCount(v, "256", &s.Server.App.LargeGroupMembers) }},
	{key: "link_previews", kind: kindBool, def: "true", usage: "fetch link cards for URLs in messages",
		apply: func(s *settings, v string) error {
			on := true
			err := parseBool(v, &on)
			s.Server.NoLinkPreviews = !on
			return err
		}},
	{key: "media.max_bytes", kind: kindNumber, def: "26214400", usage: "largest upload, in bytes (25MiB)",
		apply: func(s *settings, v string) error { return parseBytes(v, "26214400", &s.Server.App.Media.MaxFileBytes) }},
	{key: "media.max_image_bytes", kind: kindNumber, def: "8388608", usage: "largest image or GIF, in bytes (8MiB)",
		apply: func(s *settings, v string) error { return parseBytes(v, "8388608", &s.Server.App.Media.MaxImageBytes) }},
	{key: "media.max_pixels", kind: kindNumber, def: "40000000", usage: "largest image, in pixels (width × height)",
		apply: func(s *settings, v string) error { return parseInt64(v, "40000000", &s.Server.App.Media.MaxPixels) }},
	{key: "media.daily_bytes", kind: kindNumber, def: "1073741824", usage: "what one user may upload in 24 hours, in bytes (1GiB)",
		apply: func(s *settings, v string) error { return parseBytes(v, "1073741824", &s.Server.App.Media.DailyBytes) }},
	{key: "media.types", usage: "allowed content types per kind, e.g. file=application/pdf,text/plain;image=image/png (empty: the built-in lists)",
		apply: func(s *settings, v string) error {
			if v == "" {
				s.Server.App.Media.Types = nil
				return nil
			}
			types, err := parseMediaTypes(v)
			if err != nil {
				return fmt.Errorf("%v; write e.g. file=application/pdf,text/plain;image=image/png,image/jpeg", err)
			}
			s.Server.App.Media.Types = types
			return nil
		}},
	{key: "media.keep_metadata", kind: kindBool, def: "false", usage: "keep EXIF/XMP/IPTC (GPS) in stored images",
		apply: func(s *settings, v string) error { return parseBool(v, &s.Server.App.Media.KeepMetadata) }},
	{key: "media.url", usage: "where media and finished exports live: empty: the data directory; file:///DIR: a directory every node mounts; s3://BUCKET?region=R&endpoint=URL: an S3-compatible bucket (media/ and exports/ in it)",
		apply: func(s *settings, v string) error { s.Server.MediaURL = v; return checkMediaURL(v) }},
	{key: "limits.send_per_conversation", kind: kindNumber, def: "5", usage: "messages a second one account may send into one conversation, across its devices and tokens",
		apply: func(s *settings, v string) error { return parseRate(v, &s.Server.App.SendPerConversation) }},
	{key: "limits.send_burst", kind: kindNumber, def: "30", usage: "messages one account may send into one conversation at once before the rate applies",
		apply: func(s *settings, v string) error { return parseCount(v, "30", &s.Server.App.SendBurst) }},
	{key: "limits.new_conversations_per_day", kind: kindNumber, def: "200", usage: "conversations an account may start in 24 hours",
		apply: func(s *settings, v string) error { return parseCount(v, "200", &s.Server.App.NewConversationsPerDay) }},
	{key: "limits.new_conversations_per_day_new", kind: kindNumber, def: "20", usage: "the same for accounts younger than 7 days",
		apply: func(s *settings, v string) error { return parseCount(v, "20", &s.Server.App.NewConversationsPerDayNew) }},
	{key: "limits.new_account_age", def: "168h", usage: "how long an account counts as new for the new-conversation limit",
		apply: func(s *settings, v string) error { return parseDuration(v, "168h", &s.Server.App.NewAccountAge) }},
	{key: "limits.registrations_per_hour", kind: kindNumber, def: "20", usage: "sign-ups per client address an hour (loopback exempt)",
		apply: func(s *settings, v string) error { return parseCount(v, "20", &s.Server.App.RegistrationsPerHour) }},
	{key: "limits.logins_per_handle", kind: kindNumber, def: "10", usage: "login attempts a minute for one handle, from anywhere",
		apply: func(s *settings, v string) error { return parseCount(v, "10", &s.Server.App.LoginPerHandle) }},
	{key: "limits.logins_per_address", kind: kindNumber, def: "30", usage: "login attempts a minute from one client address",
		apply: func(s *settings, v string) error { return parseCount(v, "30", &s.Server.App.LoginPerAddress) }},
	{key: "sync.max_backlog", kind: kindNumber, def: "20000", usage: "messages and events a device may have missed and still be sent them all by sync or the stream; further behind, it reloads (limited)",
		apply: func(s *settings, v string) error { return parseCount(v, "20000", &s.Server.App.SyncMaxBacklog) }},
	{key: "triage.threshold", kind: kindNumber, def: "0.8", usage: "the spam score (0 to 1) from which a message request goes to the hidden filtered sub-folder",
		apply: func(s *settings, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f > 1 {
				return fmt.Errorf("%q is not a score; write a number above 0 and at most 1, e.g. 0.8", v)
			}
			s.Server.App.SpamThreshold = f
			return nil
		}},
	{key: "triage.repeat_window", def: "24h", usage: "how long the same text sent to many people counts against its sender",
		apply: func(s *settings, v string) error { return parseDuration(v, "24h", &s.Server.App.SpamRepeatWindow) }},
	{key: "triage.bulk_max", kind: kindNumber, def: "100", usage: "requests one bulk accept/decline/delete/spam call may take",
		apply: func(s *settings, v string) error { return parseCount(v, "100", &s.Server.App.BulkMax) }},
	{key: "bot.per_conversation", kind: kindNumber, def: "1", usage: "messages a second a bot may send into one conversation (bursts of 3)",
		apply: func(s *settings, v string) error { return parseRate(v, &s.Server.App.BotPerConversation) }},
	{key: "bot.per_second", kind: kindNumber, def: "30", usage: "messages a second a bot may send in all",
		apply: func(s *settings, v string) error { return parseRate(v, &s.Server.App.BotPerSecond) }},
	{key: "campaign.rate", kind: kindNumber, def: "100", usage: "a campaign's default messages a second (each campaign may set its own)",
		apply: func(s *settings, v string) error { return parseRate(v, &s.Server.App.CampaignRate) }},
	{key: "campaign.concurrency", kind: kindNumber, def: "64", usage: "sends a campaign has in flight at once",
		apply: func(s *settings, v string) error { return parseCount(v, "64", &s.Server.App.CampaignConcurrency) }},
	{key: "webhook.allow", kind: kindList, usage: "addresses, address:port pairs, CIDR ranges or host names webhooks may reach though not public",
		apply: func(s *settings, v string) error {
			s.Server.WebhookAllow = splitList(v)
			if _, err := webhook.ParseAllow(s.Server.WebhookAllow); err != nil {
				return fmt.Errorf("%v; write addresses (10.0.0.5), address:port pairs, CIDR ranges (10.0.0.0/8) or host names, comma-separated", err)
			}
			return nil
		}},
	{key: "webhook.timeout", def: "10s", usage: "how long one webhook post may take",
		apply: func(s *settings, v string) error { return parseDuration(v, "10s", &s.Server.WebhookTimeout) }},
	{key: "channels.messenger_url", def: "https://graph.facebook.com", usage: "Graph API base URL of the Messenger channel (a loopback URL is allowed for exactly its address: tests, a local proxy)",
		apply: func(s *settings, v string) error { return parseBaseURL(v, &s.Server.Channels.MessengerURL) }},
	{key: "channels.instagram_url", def: "https://graph.facebook.com", usage: "Graph API base URL of the Instagram channel",
		apply: func(s *settings, v string) error { return parseBaseURL(v, &s.Server.Channels.InstagramURL) }},
	{key: "channels.whatsapp_url", def: "https://graph.facebook.com", usage: "Graph API base URL of the WhatsApp Cloud API channel",
		apply: func(s *settings, v string) error { return parseBaseURL(v, &s.Server.Channels.WhatsAppURL) }},
	{key: "channels.graph_version", def: "v21.0", usage: "Graph API version in the Send API paths",
		apply: func(s *settings, v string) error { return parseGraphVersion(v, &s.Server.Channels.GraphVersion) }},
	{key: "channels.timeout", def: "10s", usage: "how long one Send API call may take",
		apply: func(s *settings, v string) error { return parseDuration(v, "10s", &s.Server.Channels.Timeout) }},
	{key: "records.key_file", usage: "Ed25519 key (PEM, PKCS #8) that signs exports; empty: records-ed25519.key in the data directory, made on first start",
		apply: func(s *settings, v string) error { s.Server.RecordsKeyFile = v; return nil }},
	{key: "records.link_ttl", def: "24h", usage: "how long an export's download link works (the file is deleted after)",
		apply: func(s *settings, v string) error { return parseDuration(v, "24h", &s.Server.App.Records.LinkTTL) }},
	{key: "retention.direct_days", kind: kindNumber, def: "0", usage: "purge direct conversations' messages this many days after they were sent (0: keep)",
		apply: func(s *settings, v string) error { return parseDays(v, &s.Server.App.Retention.Direct) }},
	{key: "retention.group_days", kind: kindNumber, def: "0", usage: "the same for group conversations",
		apply: func(s *settings, v string) error { return parseDays(v, &s.Server.App.Retention.Group) }},
	{key: "retention.customer_days", kind: kindNumber, def: "0", usage: "the same for businesses' customer conversations",
		apply: func(s *settings, v string) error { return parseDays(v, &s.Server.App.Retention.Customer) }},
	{key: "retention.customer_resolved_days", kind: kindNumber, def: "0", usage: "purge a resolved customer conversation's messages this many days after it was resolved (0: keep)",
		apply: func(s *settings, v string) error { return parseDays(v, &s.Server.App.Retention.CustomerResolved) }},
	{key: "retention.interval", def: "24h", usage: "how often retention runs over the whole server (when a policy is set)",
		apply: func(s *settings, v string) error { return parseDuration(v, "24h", &s.Server.RetentionInterval) }},
	{key: "accounts.deletion", def: "erase", usage: "what deleting an account does to its messages: erase (content purged; what a legal hold covers is kept) or anonymise (kept, sender shown as \"Deleted account\")",
		apply: applyDeletionPolicy},
	{key: "accounts.handle_reserve_days", kind: kindNumber, def: "30", usage: "days a deleted account's handle stays reserved before anyone may register it",
		apply: applyHandleReserve},
	{key: "guard.phone_region", def: "US", usage: "ISO 3166 region whose national phone-number format the sensitive-data guard recognises (international +CC numbers are found in any case)",
		apply: applyPhoneRegion},
}

// parseDays reads a whole number of days (0 to 36500).
func parseDays(v string, dst *time.Duration) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 36500 {
		return fmt.Errorf("%q is not a number of days; write e.g. 730 (0 keeps for ever)", v)
	}
	*dst = time.Duration(n) * 24 * time.Hour
	return nil
}

func settingByKey(key string) (setting, bool) {
	for _, st := range settingTable {
		if st.key == key {
			return st, true
		}
	}
	return setting{}, false
}

// configSource collects a command's configuration flags; load layers them
// over the environment, the file and the defaults.
type configSource struct {
	file  *string
	flags map[string]string // key → text, set by the flags given
	names map[string]string // key → the flag name used, for messages
}

// configFlags registers -config and a flag for each setting in keys
// (every setting when keys is empty) on fs.
func configFlags(fs *flag.FlagSet, keys ...string) *configSource {
	c := &configSource{flags: map[string]string{}, names: map[string]string{}}
	c.file = fs.String("config", "", "config file: .toml, .yaml or PARLEY_NAME=value lines (PARLEY_CONFIG)")
	for _, st := range settingTable {
		if len(keys) > 0 && !slices.Contains(keys, st.key) {
			continue
		}
		usage := st.usage + " (" + st.env() + ")"
		if st.def != "" {
			usage += "; default " + st.def
		}
		fs.Var(&flagValue{c: c, key: st.key, bool: st.kind == kindBool}, st.flagName(), usage)
	}
	return c
}

// flagValue records a flag's text; it is checked with the others in load.
type flagValue struct {
	c    *configSource
	key  string
	bool bool
}

func (f *flagValue) String() string { return "" }
func (f *flagValue) Set(v string) error {
	f.c.flags[f.key] = v
	return nil
}
func (f *flagValue) IsBoolFlag() bool { return f.bool }

// load returns the effective configuration.
func (c *configSource) load(getenv func(string) string) (*settings, error) {
	s := &settings{Server: server.Defaults()}
	vals := make([]settingValue, len(settingTable))
	for i, st := range settingTable {
		vals[i] = settingValue{Key: st.key, Env: st.env(), Flag: "-" + st.flagName(), Value: st.def, Source: "default", kind: st.kind}
	}
	s.File = getenv("PARLEY_CONFIG")
	if c.file != nil && *c.file != "" {
		s.File = *c.file
	}
	var fileVals map[string]string
	if s.File != "" {
		var err error
		if fileVals, err = readConfigFile(s.File); err != nil {
			return nil, err
		}
	}
	for i, st := range settingTable {
		if v, ok := fileVals[st.key]; ok {
			vals[i].Value, vals[i].Source = v, "file "+s.File
		}
		if v := getenv(st.env()); v != "" {
			vals[i].Value, vals[i].Source = v, "env "+st.env()
		}
		if v, ok := c.flags[st.key]; ok {
			vals[i].Value, vals[i].Source = v, "flag -"+st.flagName()
		}
	}
	for i, st := range settingTable {
		if err := st.apply(s, vals[i].Value); err != nil {
			return nil, fmt.Errorf("%s: %w", where(vals[i], st, s.File), err)
		}
	}
	s.Values = vals
	if testConfigHook != nil {
		testConfigHook(&s.Server)
	}
	return s, nil
}

// testConfigHook, set by tests only, adjusts every loaded configuration
// (cheap password hashing).
var testConfigHook func(*server.Config)
