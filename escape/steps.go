package escape

// StepArrivals names the progress events of members redeeming their
// invites and arriving (the demo's stand-in for their browsers).
const StepArrivals = "arrivals"
