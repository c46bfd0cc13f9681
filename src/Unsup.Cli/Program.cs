Console.WriteLine("unsup");
