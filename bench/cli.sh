# Sourced by the bench scripts from the repository root: builds the ddpm tool in Release and defines `ddpm` to run it.
dotnet build src/Ddpm.Cli -c Release -v q -nologo >/dev/null
ddpm() { dotnet src/Ddpm.Cli/bin/Release/net10.0/Ddpm.Cli.dll "$@"; }
