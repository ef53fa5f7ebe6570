package catalog

// SetFailWrite installs the commit write hook (tests of the rollback).
func (c *Catalog) SetFailWrite(f func(step string) error) { c.failWrite = f }
