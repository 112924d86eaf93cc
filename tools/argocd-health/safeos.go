package main

// The os library Argo CD gives scripts: only time and date (no exit, execute, getenv, remove...).
// Behaviour follows Argo CD's safe os, quirks included: os.date("!...", t) formats t in local time,
// and %-flags it does not know are copied through.

import (
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func safeOsFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{"time": osTime, "date": osDate}
}

func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.OsLibName, safeOsFuncs()))
	return 1
}

func osTime(l *lua.LState) int {
	if l.GetTop() == 0 {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	fields := l.CheckTable(1)
	at := time.Date(
		intField(fields, "year", -1), time.Month(intField(fields, "month", -1)), intField(fields, "day", -1),
		intField(fields, "hour", 12), intField(fields, "min", 0), intField(fields, "sec", 0), 0, time.Local,
	)
	l.Push(lua.LNumber(at.Unix()))
	return 1
}

func intField(fields *lua.LTable, key string, fallback int) int {
	if n, ok := fields.RawGetString(key).(lua.LNumber); ok {
		return int(n)
	}
	return fallback
}

func osDate(l *lua.LState) int {
	at := time.Now()
	format := "%c"
	if l.GetTop() >= 1 {
		format = l.CheckString(1)
		if strings.HasPrefix(format, "!") {
			at = time.Now().UTC()
			format = strings.TrimLeft(format, "!")
		}
		if l.GetTop() >= 2 {
			at = time.Unix(l.CheckInt64(2), 0)
		}
		if strings.HasPrefix(format, "*t") {
			l.Push(dateTable(l, at))
			return 1
		}
	}
	l.Push(lua.LString(strftime(at, format)))
	return 1
}

func dateTable(l *lua.LState, at time.Time) *lua.LTable {
	fields := l.NewTable()
	for key, value := range map[string]int{
		"year": at.Year(), "month": int(at.Month()), "day": at.Day(), "hour": at.Hour(),
		"min": at.Minute(), "sec": at.Second(), "wday": int(at.Weekday()) + 1, "yday": 0,
	} {
		fields.RawSetString(key, lua.LNumber(value))
	}
	fields.RawSetString("isdst", lua.LFalse)
	return fields
}

// Go layouts for the strftime flags Argo CD's os.date knows.
var strftimeLayouts = map[byte]string{
	'a': "mon", 'A': "Monday", 'b': "Jan", 'B': "January", 'c': "02 Jan 06 15:04 MST", 'd': "02",
	'F': "2006-01-02", 'H': "15", 'I': "03", 'm': "01", 'M': "04", 'p': "PM", 'P': "pm", 'S': "05",
	'x': "15/04/05", 'X': "15:04:05", 'y': "06", 'Y': "2006", 'z': "-0700", 'Z': "MST",
}

func strftime(at time.Time, format string) string {
	var out strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i == len(format)-1 {
			out.WriteByte(c)
			continue
		}
		i++
		flag := format[i]
		switch layout, known := strftimeLayouts[flag]; {
		case flag == '%':
			out.WriteByte('%')
		case known:
			out.WriteString(at.Format(layout))
		case flag == 'w':
			out.WriteString(strconv.Itoa(int(at.Weekday())))
		default:
			out.WriteByte('%')
			out.WriteByte(flag)
		}
	}
	return out.String()
}
