using System.Reflection;
using TorchSharp;
var names = args;
foreach (var asm in new[]{ typeof(torch).Assembly })
foreach (var type in asm.GetTypes())
foreach (var m in type.GetMethods(BindingFlags.Public|BindingFlags.Static|BindingFlags.Instance|BindingFlags.DeclaredOnly))
  if (names.Contains(m.Name)) Console.WriteLine($"{type.FullName}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name + " " + p.Name + (p.HasDefaultValue ? "=" + p.DefaultValue : "")))}) -> {m.ReturnType.Name}");
