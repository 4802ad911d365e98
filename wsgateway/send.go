package wsgateway

import (
	"encoding/json"
	"errors"
	"math"
	"runtime/debug"
	"sync"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// maxSendsInFlight bounds the send frames one stream has taken and not yet
// answered on the socket. When it is reached the stream stops reading, so
// a client that writes faster than the server stores (or than it reads its
// answers) waits in TCP, holding no server memory beyond this.
const maxSendsInFlight = 64

// sentFrame answers a send frame once the message is stored: the same
// message as POST …/messages answers, and whether this frame created it
// (false: a repeat of the client_id, answered with the original).
type sentFrame struct {
	Type    string           `json:"type"` // "sent"
	ID      string           `json:"id"`
	Created bool             `json:"created"`
	Message *app.MessageView `json:"message"`
}

// sends runs a stream's send frames: one conversation's in the order they
// arrived (a send starts after the one before it was stored or refused),
// different conversations' at once, at most maxSendsInFlight in all.
type sends struct {
	// slots holds a token for every send taken and not yet answered on
	// the socket; the writer frees them.
	slots chan struct{}

	mu sync.Mutex
	// lanes holds, for each conversation with a send running, the sends
	// waiting behind it. A conversation is in lanes while its runner
	// runs.
	lanes map[string][]Frame
}

// takeSend queues a send frame, waiting for a free slot first. It runs on
// the stream's reader.
func (s *stream) takeSend(f Frame) {
	if s.sends == nil { // the first send of this stream: idle streams hold none of this
		s.sends = &sends{slots: make(chan struct{}, maxSendsInFlight), lanes: map[string][]Frame{}}
	}
	q := s.sends
	select {
	case q.slots <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	q.mu.Lock()
	waiting, running := q.lanes[f.ConversationID]
	if !running && !s.startLane() {
		q.mu.Unlock()
		return // the stream is ending
	}
	q.lanes[f.ConversationID] = append(waiting, f)
	q.mu.Unlock()
	if !running {
		go s.runLane(f.ConversationID)
	}
}

// startLane counts a lane's runner about to start, unless the stream is
// ending (finish waits for the runners: none may start after it looked).
func (s *stream) startLane() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ending {
		return false
	}
	s.lanesRunning++
	return true
}

// laneDone counts a lane's runner gone.
func (s *stream) laneDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lanesRunning--; s.lanesRunning == 0 && s.lanesIdle != nil {
		close(s.lanesIdle)
		s.lanesIdle = nil
	}
}

// waitLanes stops new lanes and waits for the running ones, after the
// stream's context was cancelled (so that their sends end soon).
func (s *stream) waitLanes() {
	s.mu.Lock()
	s.ending = true
	var idle chan struct{}
	if s.lanesRunning > 0 {
		s.lanesIdle = make(chan struct{})
		idle = s.lanesIdle
	}
	s.mu.Unlock()
	if idle != nil {
		<-idle
	}
}

// runLane runs one conversation's sends until none is waiting.
func (s *stream) runLane(convID string) {
	defer s.laneDone()
	q := s.sends
	for {
		q.mu.Lock()
		waiting := q.lanes[convID]
		if len(waiting) == 0 {
			delete(q.lanes, convID)
			q.mu.Unlock()
			return
		}
		f := waiting[0]
		waiting[0] = Frame{}
		q.lanes[convID] = waiting[1:]
		q.mu.Unlock()
		if b := s.runSend(f); b != nil {
			s.answerSend(b)
		}
	}
}

// runSend stores one send frame's message and returns the encoded answer,
// a sent frame or an error frame; nil once the stream is ending.
func (s *stream) runSend(f Frame) (answer []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.g.log.Error("stream send panicked", "user", s.actor.User.ID, "panic", p, "stack", string(debug.Stack()))
			answer = errorFrame(f.ID, parley.Errorf(parley.EInternal, "internal error"))
		}
	}()
	if s.ctx.Err() != nil {
		return nil
	}
	if s.dev.Ended() { // revoked, or past its expiry: store nothing
		return errorFrame(f.ID, errSessionEnded)
	}
	m, created, err := s.g.app.Send(s.ctx, s.actor, f.ConversationID, f.Send.Input())
	if err != nil {
		if parley.ErrorCode(err) == parley.EInternal && s.ctx.Err() == nil {
			s.g.log.Error("stream send", "user", s.actor.User.ID, "conversation", f.ConversationID, "err", err)
		}
		return errorFrame(f.ID, err)
	}
	b, err := json.Marshal(sentFrame{Type: "sent", ID: f.ID, Created: created, Message: m})
	if err != nil {
		s.g.log.Error("stream send: encode", "err", err)
		return errorFrame(f.ID, err)
	}
	return b
}

// errSessionEnded refuses a frame of a stream whose session was revoked
// or expired.
var errSessionEnded = parley.Errorf(parley.EUnauthorized, "the session ended")

// errorReply is the error answer to the frame with this id: the API's
// code and message, the field at fault and when to retry, if err says.
func errorReply(id string, err error) reply {
	r := reply{Type: "error", ID: id, Code: parley.ErrorCode(err), Detail: parley.ErrorMessage(err)}
	var pe *parley.Error
	if errors.As(err, &pe) {
		r.Field, r.Kinds = pe.Field, pe.Kinds
		if pe.RetryAfter > 0 {
			r.RetryAfter = int(math.Ceil(pe.RetryAfter.Seconds()))
		}
	}
	return r
}

// errorFrame encodes errorReply(id, err).
func errorFrame(id string, err error) []byte {
	b, _ := json.Marshal(errorReply(id, err))
	return b
}

// answerSend queues a send's answer for the writer, which frees the send's
// slot once the answer is on the socket.
func (s *stream) answerSend(b []byte) {
	s.mu.Lock()
	s.answers = append(s.answers, b)
	s.mu.Unlock()
	s.schedule()
}

// writeAnswers writes the queued answers to send frames; it runs on the
// writer.
func (s *stream) writeAnswers() error {
	s.mu.Lock()
	answers := s.answers
	s.answers = nil
	s.mu.Unlock()
	for i, b := range answers {
		if err := s.writeFrame(b); err != nil {
			return err
		}
		answers[i] = nil
		<-s.sends.slots
	}
	return nil
}
