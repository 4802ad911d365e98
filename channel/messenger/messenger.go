// Package messenger is the Facebook Messenger channel: a Facebook Page's
// conversations through the Messenger Platform (webhook object "page").
package messenger

import (
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/meta"
)

// DefaultBaseURL is the Graph API.
const DefaultBaseURL = "https://graph.facebook.com"

// New returns the Messenger channel posting through client to baseURL
// (DefaultBaseURL when empty) with the Graph API version.
func New(client channel.Poster, baseURL, version string) channel.Channel {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return meta.New(meta.Options{Platform: parley.PlatformMessenger, Object: "page", BaseURL: baseURL, Version: version, Client: client,
		Tags: []string{channel.TagHumanAgent, channel.TagConfirmedEvent, channel.TagPostPurchase, channel.TagAccountUpdate}, Notifications: true})
}
