package client_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// apiRouter is the OpenAPI document's router, loaded once.
var apiRouter = sync.OnceValues(func() (routers.Router, error) {
	b, err := os.ReadFile("../httpapi/openapi.json")
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return nil, err
	}
	doc.Servers = nil // any host: the test servers listen on random ports
	// Files are checked as strings: their type, not their bytes.
	for _, ct := range []string{"application/x-ndjson", "application/zip", "application/octet-stream",
		"image/png", "image/jpeg", "image/webp", "image/gif", "text/plain"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
	return legacy.NewRouter(doc)
})

// conforming is a transport that checks every API answer the client gets
// against the OpenAPI document: the status is documented for the
// operation and the body matches its schema. The client's tests thereby
// check that the client and the document agree on the wire.
type conforming struct{ t *testing.T }

func (c conforming) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/api/v1/") || resp.StatusCode == http.StatusSwitchingProtocols ||
		strings.HasSuffix(req.URL.Path, "/sync") && req.URL.Query().Get("timeout") != "" {
		return resp, err // long-polls stream their wait; upgrades have no body
	}
	router, rerr := apiRouter()
	if rerr != nil {
		c.t.Errorf("openapi.json: %v", rerr)
		return resp, nil
	}
	route, params, ferr := router.FindRoute(req)
	if ferr != nil {
		return resp, nil // undocumented: the route equality test covers those
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  resp.StatusCode,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if verr := openapi3filter.ValidateResponse(context.Background(), in); verr != nil {
		msg := verr.Error()
		if len(msg) > 600 {
			msg = msg[:600] + "…"
		}
		c.t.Errorf("%s %s answered %d, not as openapi.json says: %s", req.Method, route.Path, resp.StatusCode, msg)
	}
	return resp, nil
}
