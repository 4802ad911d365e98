package parley

import "context"

// Bus carries notifications between the parts of Parley, and later between
// nodes. It only notifies: the store is the source of truth, so a lost
// notification costs latency, never data.
//
// Implementations deliver, for each subscription, the messages of its
// subject in the order they were published, and every subscriber of a
// subject gets every message. They keep memory bounded: when a subscriber
// falls too far behind, messages are dropped for it and it is told so by a
// call of its handler with nil, before the next message it does receive.
type Bus interface {
	// Publish sends data to every subscriber of subject. It does not wait
	// for subscribers.
	Publish(ctx context.Context, subject string, data []byte) error
	// Subscribe calls handler for each message on subject, one at a time,
	// in order; handler(nil) reports that messages were dropped.
	Subscribe(subject string, handler func(data []byte)) (Subscription, error)
	// Close ends every subscription.
	Close() error
}

// Subscription is one Subscribe call.
type Subscription interface {
	// Unsubscribe stops deliveries; after it returns, handler is not called.
	Unsubscribe() error
}
