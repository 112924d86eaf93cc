// Command argocd-health evaluates Argo CD resource health scripts the way Argo CD does:
// on gopher-lua (the Lua 5.1 VM Argo CD embeds), with only the libraries Argo CD opens for a
// customisation from argocd-cm (package, base, table and an os reduced to time and date), a 1 s
// timeout, the object as the global `obj`, and the returned table read back through JSON into
// {status, message}, where a status Argo CD does not know becomes Unknown.
//
// It reads JSON lines on stdin, each {"script": "...", "obj": {...}}, and writes one JSON line per
// input: {"status": "...", "message": "..."} or {"error": "..."} when Argo CD would report an error.
// One process serves many objects, so a test suite pays the start-up once.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
)

// Timeout is Argo CD's limit on one script run.
const Timeout = 1 * time.Second

// The statuses Argo CD accepts from a script; anything else becomes Unknown with this message.
const invalidStatusMessage = "Lua returned an invalid health status"

var knownStatuses = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true, "Healthy": true, "Degraded": true, "Missing": true,
}

type request struct {
	Script string `json:"script"`
	Obj    any    `json:"obj"`
}

// Health is what Argo CD keeps of a script's answer; omitempty as in Argo CD's own type, so an
// empty answer reads back as {}.
type Health struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

type response struct {
	Status  *string `json:"status,omitempty"`
	Message *string `json:"message,omitempty"`
	Error   string  `json:"error,omitempty"`
}

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: argocd-health < requests.jsonl  (one {\"script\", \"obj\"} per line)")
		os.Exit(2)
	}
	if err := serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-health:", err)
		os.Exit(1)
	}
}

func serve(in io.Reader, out io.Writer) error {
	reader := bufio.NewReader(in)
	writer := bufio.NewWriter(out)
	encoder := json.NewEncoder(writer)
	for {
		line, readErr := reader.ReadBytes('\n')
		if len(line) > 0 {
			if err := encoder.Encode(answer(line)); err != nil {
				return err
			}
			// A caller may wait for each answer before sending the next line.
			if err := writer.Flush(); err != nil {
				return err
			}
		}
		if errors.Is(readErr, io.EOF) {
			return nil
		}
		if readErr != nil {
			return readErr
		}
	}
}

func answer(line []byte) response {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return response{Error: "bad request: " + err.Error()}
	}
	health, err := Evaluate(req.Script, req.Obj)
	if err != nil {
		return response{Error: err.Error()}
	}
	return response{Status: &health.Status, Message: &health.Message}
}

// Evaluate runs one health script on one object (decoded from JSON) in a fresh VM, as Argo CD
// does for every evaluation.
func Evaluate(script string, obj any) (Health, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	if err := openArgoLibs(l); err != nil {
		return Health{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))

	fn, err := l.LoadString(script)
	if err == nil {
		l.Push(fn)
		err = l.PCall(0, lua.MultRet, nil)
	}
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorRun {
		apiErr.StackTrace = "" // Argo CD shows users the error without Lua's stack trace
	}
	if err != nil {
		return Health{}, err
	}
	return readHealth(l.Get(-1))
}

// openArgoLibs opens what Argo CD opens for a customisation without useOpenLibs: package, base,
// table, and the safe os, also reachable as require("os"). No string, math, io, coroutine, debug.
func openArgoLibs(l *lua.LState) error {
	libs := []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	}
	for _, lib := range libs {
		call := lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}
		if err := l.CallByParam(call, lua.LString(lib.name)); err != nil {
			return fmt.Errorf("opening %s: %w", lib.name, err)
		}
	}
	l.PreloadModule(lua.OsLibName, func(l *lua.LState) int {
		l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs()))
		return 1
	})
	return nil
}

// toLua turns a JSON value into the Lua value Argo CD gives a script: numbers are doubles (Lua
// 5.1), objects and arrays are tables (arrays from index 1), null is nil.
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		table := l.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(l, item))
		}
		return table
	case map[string]any:
		table := l.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(l, item))
		}
		return table
	}
	return lua.LNil
}

// readHealth reads a script's return value as Argo CD does: nil is an empty answer; a table goes
// through gopher-json into {status, message}, where a field of the wrong type (or a table that
// encodes as an array, such as an empty one) gives an empty answer; an unknown status is Unknown.
func readHealth(value lua.LValue) (Health, error) {
	switch value.Type() {
	case lua.LTNil:
		return Health{}, nil
	case lua.LTTable:
	default:
		return Health{}, fmt.Errorf("expect table output from Lua script, not %s", value.Type().String())
	}
	encoded, err := luajson.Encode(value)
	if err != nil {
		return Health{}, err
	}
	var health Health
	if err := json.Unmarshal(encoded, &health); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Health{}, nil
		}
		return Health{}, err
	}
	if !knownStatuses[health.Status] {
		return Health{Status: "Unknown", Message: invalidStatusMessage}, nil
	}
	return health, nil
}
