// Package instagram is the Instagram channel: an Instagram professional
// account's direct messages through the Messenger Platform (webhook
// object "instagram"), story mentions included.
package instagram

import (
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/meta"
)

// DefaultBaseURL is the Graph API (Instagram messaging through a linked
// Facebook Page).
const DefaultBaseURL = "https://graph.facebook.com"

// New returns the Instagram channel posting through client to baseURL
// (DefaultBaseURL when empty) with the Graph API version.
func New(client channel.Poster, baseURL, version string) channel.Channel {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	// Instagram messaging takes the HUMAN_AGENT tag only, and has no
	// notification messages.
	return meta.New(meta.Options{Platform: parley.PlatformInstagram, Object: "instagram", BaseURL: baseURL, Version: version, Client: client,
		Tags: []string{channel.TagHumanAgent}})
}
