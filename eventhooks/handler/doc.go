// Package handler holds the event hooks Handler contract (Event, Hook,
// Delivery, Result) and Kong's handlers: webhook (a signed JSON POST),
// webhook-custom (templated requests), log (the error log, in Kong's
// inspect format) and lambda (sandboxed Lua functions). It also holds what
// they share: signatures, the egress check of event_hooks_deny_private,
// and the write-time checks of templates and functions (InstallValidation).
package handler
