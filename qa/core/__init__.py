"""Ground floor: the settings, language rules, file primitives and access type that several
stages share. It imports no other folder of qa."""
