"""Model packages and model profiles (Model.package, Model.profile): emulator/packaging does the work."""
