"""The read side: the public snapshot, the prepared documents every public read serves,
the regions live pages swap in, and the hub that pushes each change to every socket."""
