// Package httpapi serves Parley's HTTP/JSON API (DESIGN.md §3) on top of
// package app. It owns routing, JSON decoding with limits, authentication
// and the one place where error codes become HTTP statuses.
package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"github.com/parleyhq/parley/internal/jsonshape"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/realtime"
)

// MaxBodyBytes caps a request body unless a route says otherwise.
const MaxBodyBytes = 64 << 10

//go:embed openapi.json
var openAPI []byte

// Server is the HTTP API.
type Server struct {
	app *app.App
	log *slog.Logger
	mux *http.ServeMux
	// TrustProxy makes the client address come from X-Forwarded-For.
	trustProxy bool
	hub        *realtime.Hub
	streamer   Streamer
	obs        Observer
	ready      func(ctx context.Context) error
	// patterns are the routes in the order registered; the OpenAPI test
	// compares them with openapi.json.
	patterns []string
	// typing throttles "typing" over HTTP per user and conversation, as
	// the stream does per socket.
	typing *app.Limiter
}

// Options configure a Server.
type Options struct {
	Logger *slog.Logger
	// TrustProxy takes client addresses from X-Forwarded-For, for servers
	// behind a reverse proxy.
	TrustProxy bool
	// Hub, when set, makes sync long-poll and enables stream tickets.
	Hub *realtime.Hub
	// Streamer, when set with Hub, serves GET /api/v1/stream.
	Streamer Streamer
	// Observer, when set, is told about every request and long-poll
	// (for metrics).
	Observer Observer
	// Ready, when set, answers GET /readyz instead of the app's store
	// check: the server adds what else the node needs (the bus).
	Ready func(ctx context.Context) error
}

// New returns the API handler for a.
func New(a *app.App, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	s := &Server{app: a, log: opts.Logger, mux: http.NewServeMux(), trustProxy: opts.TrustProxy, hub: opts.Hub, streamer: opts.Streamer, obs: opts.Observer, ready: opts.Ready,
		typing: app.NewLimiter(1/typingInterval.Seconds(), 1, time.Now)}
	if s.ready == nil {
		s.ready = func(ctx context.Context) error { return s.app.Ready(ctx) }
	}
	s.routes()
	return s
}

// ServeHTTP implements http.Handler: request id, security headers, panic
// recovery and access logging around the router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := newRequestID()
	h := w.Header()
	h.Set("X-Request-Id", rid)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", APICSP)
	h.Set("X-Frame-Options", "DENY")
	rw := &statusWriter{ResponseWriter: w, status: 200}
	ctx := context.WithValue(r.Context(), ridKey{}, rid)
	ctx = app.WithOrigin(ctx, app.Origin{Address: s.clientAddress(r), UserAgent: r.UserAgent()})
	r = r.WithContext(ctx)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic serving request", "rid", rid, "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rw.wrote {
				s.problem(rw, r, errors.New("panic"))
			}
		}
		d := time.Since(start)
		if s.obs != nil { // nil in tests that build a bare Server
			// r.Pattern, set by the router, is the route: never the
			// path, so that ids do not become metric labels.
			s.obs.Request(r.Pattern, rw.status, d)
		}
		s.log.Debug("request", "rid", rid, "method", r.Method, "path", r.URL.Path, "status", rw.status, "dur", d)
	}()
	s.mux.ServeHTTP(rw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type ridKey struct{}

func newRequestID() string { return rand.Text()[:16] }

// handler is a route that may fail; the error becomes problem+json.
type handler func(w http.ResponseWriter, r *http.Request) error

// authed is a route that needs a signed-in actor.
type authed func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error

func (s *Server) handle(pattern string, h handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.problem(w, r, err)
		}
	})
}

func (s *Server) auth(pattern string, h authed) {
	scope := requiredScope(pattern)
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		actor, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if scope != "" {
			if err := actor.RequireScope(scope); err != nil {
				return err
			}
		}
		return h(w, r, actor)
	})
}

func (s *Server) authenticate(r *http.Request) (*app.Actor, error) {
	authz := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok || token == "" {
		return nil, parley.Errorf(parley.EUnauthorized, "sign in: send Authorization: Bearer <token>")
	}
	return s.app.Authenticate(r.Context(), strings.TrimSpace(token))
}

// clientAddress is the caller's IP, for per-address limits.
func (s *Server) clientAddress(r *http.Request) string {
	if s.trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusOf maps an error code to its HTTP status: the one place that does.
func statusOf(code string) int {
	switch code {
	case parley.EInvalid, parley.EUnresolvedVar, parley.ESensitiveData, parley.EBlockedContent, parley.EWeakPassword:
		return http.StatusUnprocessableEntity
	case parley.EMalformed:
		return http.StatusBadRequest
	case parley.ENotFound:
		return http.StatusNotFound
	case parley.EUnauthorized, parley.EBadCredentials:
		return http.StatusUnauthorized
	case parley.EForbidden, parley.EDMNotAllowed, parley.ERequestLimit, parley.EEditWindow, parley.ENotAssignee,
		parley.EInsufficientScope, parley.EAccountSuspended, parley.ETwoFactorRequired, parley.EWindowClosed, parley.ENoConsent,
		parley.ETagNotAllowed:
		return http.StatusForbidden
	case parley.EConflict, parley.EHandleTaken, parley.EGroupFull, parley.EHumanControl, parley.EFrequencyCap, parley.EQuietHours,
		parley.ETemplateInUse, parley.ELastAdmin, parley.EChannelUnsupported, parley.ELegalHold, parley.EChannelDisabled:
		return http.StatusConflict
	case parley.EViewOnceOpened, parley.ELinkExpired:
		return http.StatusGone
	case parley.ERateLimited:
		return http.StatusTooManyRequests
	case parley.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case parley.EStorageFull:
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}

// Problem is an RFC 9457 problem document with Parley's stable code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
	// Kinds: what the sensitive-data guard found (sensitive_data only).
	Kinds     []string `json:"kinds,omitempty"`
	RequestID string   `json:"request_id,omitempty"`
}

// problem writes err as problem+json. Internal errors are logged with the
// request id and reach the client as "internal error".
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	code := parley.ErrorCode(err)
	status := statusOf(code)
	rid, _ := r.Context().Value(ridKey{}).(string)
	if code == parley.EInternal {
		s.log.Error("internal error", "rid", rid, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: parley.ErrorMessage(err), Code: code, RequestID: rid}
	var pe *parley.Error
	if errors.As(err, &pe) {
		p.Field, p.Kinds = pe.Field, pe.Kinds
		if pe.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(pe.RetryAfter.Seconds())))
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decode reads one JSON object into v: at most MaxBodyBytes, no unknown
// fields, no trailing data.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if mt = strings.TrimSpace(strings.ToLower(mt)); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return parley.Errorf(parley.EMalformed, "send a JSON body with Content-Type: application/json")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return parley.Errorf(parley.ETooLarge, "the body is larger than %d bytes", MaxBodyBytes)
	} else if err != nil {
		return parley.Errorf(parley.EMalformed, "the body could not be read")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return parley.Errorf(parley.EMalformed, "the body is not valid UTF-8")
	}
	if err := checkShape(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return parley.Errorf(parley.EMalformed, "the body is empty; send a JSON object")
		case errors.As(err, &typeErr):
			return &parley.Error{Code: parley.EMalformed, Field: typeErr.Field, Message: "field " + typeErr.Field + " has the wrong type; want " + typeErr.Type.String()}
		case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
			return parley.Errorf(parley.EMalformed, "the body is not valid JSON")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return parley.Errorf(parley.EMalformed, "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return parley.Errorf(parley.EMalformed, "the body is not a valid JSON object")
	}
	if dec.More() {
		return parley.Errorf(parley.EMalformed, "the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return parley.Errorf(parley.EMalformed, "the body holds more than one JSON value")
	}
	return nil
}

// MaxJSONDepth caps how deeply a request body may nest objects and arrays.
const MaxJSONDepth = jsonshape.MaxDepth

// checkShape refuses what encoding/json would take without a word
// (jsonshape.Check).
func checkShape(body []byte) error { return jsonshape.Check(body) }

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, parley.Invalid(name, "%s is an integer", name)
	}
	return n, nil
}

// APICSP is the Content-Security-Policy of everything but the web app:
// API answers are data, never a document to render or frame.
const APICSP = "default-src 'none'; frame-ancestors 'none'"

// SecurityHeaders sets the headers every answer of the server carries,
// whoever writes it (API, web app, media, metrics, errors, 404s): a CSP
// that a handler may tighten or replace (the web app sets its own),
// nosniff, no framing, no referrer, and HSTS when the server is reached
// over HTTPS.
func SecurityHeaders(next http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", APICSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if https {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
