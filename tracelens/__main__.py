from tracelens.interrupts import launch

raise SystemExit(launch())
