#!/usr/bin/env bash
# infra/nuget-file.sh PACKAGE VERSION PATH-IN-PACKAGE DESTINATION
# Copies one file out of a NuGet package (executable bit set), fetched from the feeds dotnet already uses: a
# throw-away project with a PackageDownload restores it into a temporary folder. setup.sh takes the Bicep CLI this way,
# package.sh the libvips that the Functions package carries.
set -euo pipefail
package="$1" version="$2" inside="$3" destination="$4"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/download.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="$package" Version="[$version]" /></ItemGroup>
</Project>
XML
dotnet restore "$tmp/download.csproj" --packages "$tmp/packages" --nologo -v quiet >/dev/null
mkdir -p "$(dirname "$destination")"
install -m 0755 "$tmp/packages/${package,,}/$version/$inside" "$destination"
